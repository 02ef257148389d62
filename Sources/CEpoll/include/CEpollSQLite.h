// Typed calls into libsqlite3 that Swift cannot make itself (sqlite3_db_config is variadic).
#ifndef CEPOLL_SQLITE_H
#define CEPOLL_SQLITE_H

// sqlite3_db_config verbs that take (int on, int *result), mirrored so Swift never sees a C macro.
enum {
    CEP_SQLITE_DBCONFIG_ENABLE_TRIGGER = 1003,
    CEP_SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION = 1005,
    CEP_SQLITE_DBCONFIG_DEFENSIVE = 1010,
    CEP_SQLITE_DBCONFIG_TRUSTED_SCHEMA = 1017,
    CEP_SQLITE_DBCONFIG_ENABLE_VIEW = 1015,
};

// sqlite3_db_config(db, op, on, &result) for the on/off verbs above; `db` is a `sqlite3 *`. Returns the
// sqlite result code; *result (when not NULL) receives the setting now in force (0 or 1).
int cep_sqlite_db_config_flag(void *db, int op, int on, int *result);

#endif
