// Typed wrapper over sqlite3_db_config's on/off verbs (a variadic C function Swift cannot call).
#include "CEpollSQLite.h"
#include <sqlite3.h>

_Static_assert(CEP_SQLITE_DBCONFIG_ENABLE_TRIGGER == SQLITE_DBCONFIG_ENABLE_TRIGGER, "mirror");
_Static_assert(CEP_SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION == SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, "mirror");
_Static_assert(CEP_SQLITE_DBCONFIG_DEFENSIVE == SQLITE_DBCONFIG_DEFENSIVE, "mirror");
_Static_assert(CEP_SQLITE_DBCONFIG_TRUSTED_SCHEMA == SQLITE_DBCONFIG_TRUSTED_SCHEMA, "mirror");
_Static_assert(CEP_SQLITE_DBCONFIG_ENABLE_VIEW == SQLITE_DBCONFIG_ENABLE_VIEW, "mirror");

int cep_sqlite_db_config_flag(void *db, int op, int on, int *result) {
    int ignored = 0;
    return sqlite3_db_config((sqlite3 *)db, op, on, result ? result : &ignored);
}
