// The registry of fuzz targets: one executable, the target chosen by name.
//
// To add a target, write `enum FooFuzz { static func run(_ data: UnsafeRawBufferPointer) }` in its own
// file, add one line below, and put a few seed inputs in Tests/Fuzz/corpus/<name>/.

typealias FuzzTargetFunction = @Sendable (UnsafeRawBufferPointer) -> Void

enum FuzzTargets {
    static let all: [(name: String, run: FuzzTargetFunction)] = [
        ("http-request", HTTPRequestFuzz.run),
        // the JSON parser and serializer (registry answers, request bodies, tunnel messages)
        ("json", JSONFuzz.run),
        ("chunked", ChunkedFuzz.run),
        ("websocket", WebSocketFuzz.run),
        ("tar", TarFuzz.run),
        ("gzip", GzipFuzz.run),
        ("zstd", ZstdFuzz.run),
        // OS package databases
        ("dpkg", DpkgFuzz.run), ("apk", ApkFuzz.run), ("rpm-header", RpmFuzz.header), ("bdb", RpmFuzz.berkeleyDB),
        ("ndb", RpmFuzz.ndb), ("rpmdb-sqlite", RpmSQLiteFuzz.run),
        // application manifests
        ("zip", ZipFuzz.run), ("elf", ELFFuzz.run), ("npm", NpmFuzz.run),
        // AWS answers (the ecr registry type)
        ("aws-xml", AWSXMLFuzz.run), ("aws-metadata", AWSMetadataFuzz.run),
        // the broker's CR_CREDENTIALS (environment or a request's authorization header)
        ("cr-credentials", BrokerCredentialsFuzz.run),
        // the API's paging cursor as callers send it back (/list-paginated, /list-with-metadata)
        ("listing-cursor", ListingCursorFuzz.run),
        // the body of POST /scan and /discover
        ("scan-request", ScanRequestFuzz.run),
        // registry answers: manifests, indexes, image configs, WWW-Authenticate
        ("registry-manifest", RegistryFuzz.run),
        // callbacks: a callback base from a request, and cutting a scan result to the 10 MiB limit
        ("callback-url", CallbackFuzz.url), ("scan-result-fit", CallbackFuzz.fit),
        // the broker tunnel: engine.io/Primus/EJSON/emitter messages and the /response-data framing
        ("broker-message", BrokerProtocolFuzz.run),
        // the broker's accept filter: filter files, requests, path patterns and rule regexes
        ("accept-filter", AcceptFilterFuzz.run),
    ]

    static var names: [String] { all.map(\.name) }

    static func named(_ name: String) -> FuzzTargetFunction? {
        all.first { $0.name == name }?.run
    }
}
