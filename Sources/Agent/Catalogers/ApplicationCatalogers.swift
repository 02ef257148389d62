// Application-manifest catalogers (npm, Python, Java, Go, Ruby, PHP, .NET, Rust).

public enum ApplicationCatalogers {
    public static var all: [any Cataloger] { [] }
}
