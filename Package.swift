// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cr-agent",
    products: [
        .executable(name: "cr-agent", targets: ["Agent"]),
        .executable(name: "broker", targets: ["Broker"]),
    ],
    targets: [
        .systemLibrary(name: "CSystemLibs", path: "Sources/CSystemLibs", pkgConfig: "openssl libcurl zlib libzstd sqlite3 libisal",
                       providers: [.apt(["libssl-dev", "libcurl4-openssl-dev", "zlib1g-dev", "libzstd-dev", "libsqlite3-dev", "libisal-dev"])]),
        .target(name: "CEpoll", dependencies: ["CSystemLibs"],
                linkerSettings: [.linkedLibrary("ssl"), .linkedLibrary("crypto"), .linkedLibrary("curl"), .linkedLibrary("z"),
                                 .linkedLibrary("zstd"), .linkedLibrary("sqlite3"), .linkedLibrary("isal")]),
        // Exclusivity is checked in debug builds (every test run); release builds of the hot paths skip
        // the dynamic checks.
        .target(name: "Core", dependencies: ["CEpoll"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // The agent's code is a library (so tests and the fuzz executable can use it); the executable is
        // only Sources/Agent/Executable/main.swift.
        .target(name: "AgentKit", dependencies: ["Core"], path: "Sources/Agent", exclude: ["Executable"]),
        .executableTarget(name: "Agent", dependencies: ["AgentKit", "Core"], path: "Sources/Agent/Executable"),
        // The broker's code is a library too (tests, fuzz); the executable is Sources/Broker/Executable/main.swift.
        .target(name: "BrokerKit", dependencies: ["Core"], path: "Sources/Broker", exclude: ["Executable"]),
        .executableTarget(name: "Broker", dependencies: ["BrokerKit", "Core"], path: "Sources/Broker/Executable"),
        .executableTarget(name: "Fuzz", dependencies: ["Core", "AgentKit", "BrokerKit"], path: "Tests/Fuzz", exclude: ["corpus"]),
        .target(name: "TestSupport", dependencies: ["Core"], path: "Tests/TestSupport"),
        .testTarget(name: "CoreTests", dependencies: ["Core", "TestSupport"]),
        .testTarget(name: "AgentTests", dependencies: ["AgentKit", "Core", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "BrokerTests", dependencies: ["BrokerKit", "Core", "TestSupport"]),
    ]
)
