// OS package-database catalogers (dpkg, apk, rpm).

public enum OSCatalogers {
    public static var all: [any Cataloger] { [] }
}
