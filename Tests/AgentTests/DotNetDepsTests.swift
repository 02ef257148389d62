// DotNetDepsCataloger on a deps.json shaped like `dotnet publish` output, row by row against the rules
// of syft's dotnet-deps-binary-cataloger (default configuration): targets, root project, DLL claims.
@testable import AgentKit
import XCTest

final class DotNetDepsTests: XCTestCase {
    let dotnet = DotNetDepsCataloger()

    func depsJSON(extraTarget: String = "") -> String {
        """
        {
          "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64", "signature": ""},
          "compilationOptions": {},
          "targets": {
            ".NETCoreApp,Version=v8.0": {
              "MyApp/1.0.0": {
                "dependencies": {"Newtonsoft.Json": "13.0.3", "Serilog.AspNetCore": "8.0.0", "MyLib": "1.0.0", "System.Runtime": "4.3.0"},
                "runtime": {"MyApp.dll": {}}
              },
              "Newtonsoft.Json/13.0.3": {"runtime": {"lib/net6.0/Newtonsoft.Json.dll": {"assemblyVersion": "13.0.0.0", "fileVersion": "13.0.3.27908"}}},
              "Serilog.AspNetCore/8.0.0": {"dependencies": {"Serilog": "3.1.1"}},
              "Serilog/3.1.1": {"runtime": {"lib/net7.0/Serilog.dll": {}}},
              "Microsoft.NETCore.Platforms/1.1.0": {},
              "System.Runtime/4.3.0": {"dependencies": {"Microsoft.NETCore.Platforms": "1.1.0"}},
              "Ref.Only/1.0.0": {"compile": {"ref/netstandard2.0/Ref.Only.dll": {}}},
              "MyLib/1.0.0": {"runtime": {"MyLib.dll": {}}}\(extraTarget)
            },
            ".NETCoreApp,Version=v8.0/linux-x64": {
              "Native.Lib/2.0.0": {"native": {"runtimes/linux-x64/native/libnative.so": {}}},
              "Newtonsoft.Json/13.0.3": {"runtime": {"lib/net6.0/Newtonsoft.Json.dll": {}}}
            }
          },
          "libraries": {
            "MyApp/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
            "Newtonsoft.Json/13.0.3": {"type": "package", "serviceable": true, "sha512": "sha512-HrC5BXdl00IP9zeV+0Z848QWPAoCr9P3bDEZguI+gkLcBKAOxix/tLEAAHC+UvDNPv4a2d18lOReHMOagPa+zQ==", "path": "newtonsoft.json/13.0.3", "hashPath": "newtonsoft.json.13.0.3.nupkg.sha512"},
            "Serilog.AspNetCore/8.0.0": {"type": "package", "serviceable": true, "sha512": "sha512-x", "path": "serilog.aspnetcore/8.0.0"},
            "Serilog/3.1.1": {"type": "package", "serviceable": true, "sha512": "sha512-y", "path": "serilog/3.1.1"},
            "Microsoft.NETCore.Platforms/1.1.0": {"type": "package", "serviceable": true, "sha512": "sha512-z", "path": "microsoft.netcore.platforms/1.1.0"},
            "System.Runtime/4.3.0": {"type": "package", "serviceable": true, "sha512": "sha512-w", "path": "system.runtime/4.3.0"},
            "Ref.Only/1.0.0": {"type": "referenceassembly", "serviceable": false, "sha512": "", "path": ""},
            "Native.Lib/2.0.0": {"type": "package", "serviceable": true, "sha512": "sha512-n", "path": "native.lib/2.0.0"},
            "MyLib/1.0.0": {"type": "project", "serviceable": false, "sha512": ""}
          }
        }
        """
    }

    func testInterest() {
        XCTAssertEqual(dotnet.interest(in: CatalogEntry(path: "/app/MyApp.deps.json", size: 9, mode: 0o644)), .whole)
        XCTAssertEqual(dotnet.interest(in: CatalogEntry(path: "/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.1/Microsoft.NETCore.App.deps.json", size: 9, mode: 0o644)), .whole)
        XCTAssertEqual(dotnet.interest(in: CatalogEntry(path: "/app/MyApp.runtimeconfig.json", size: 9, mode: 0o644)), .none)
        XCTAssertEqual(dotnet.interest(in: CatalogEntry(path: "/app/deps.json.bak", size: 9, mode: 0o644)), .none)
    }

    func testSelection() {
        let r = catalogOne(dotnet, path: "/app/MyApp.deps.json", depsJSON())
        XCTAssertEqual(r.warnings, [])
        // Root project first; then by Name/Version: MyLib (project), Ref.Only (bare reference assembly),
        // Microsoft.NETCore.Platforms and System.Runtime (no DLL anywhere below them) are left out;
        // Serilog.AspNetCore stays because Serilog, below it, claims a DLL.
        XCTAssertEqual(r.packages.map { "\($0.name)@\($0.version)" },
                       ["MyApp@1.0.0", "Native.Lib@2.0.0", "Newtonsoft.Json@13.0.3", "Serilog.AspNetCore@8.0.0", "Serilog@3.1.1"])
        XCTAssertEqual(r.packages.map { Purl(package: $0, os: nil).description },
                       ["pkg:nuget/MyApp@1.0.0", "pkg:nuget/Native.Lib@2.0.0", "pkg:nuget/Newtonsoft.Json@13.0.3",
                        "pkg:nuget/Serilog.AspNetCore@8.0.0", "pkg:nuget/Serilog@3.1.1"])
        XCTAssertEqual(r.packages[0].metadata["type"], "project")
        XCTAssertEqual(r.packages[2].metadata["path"], "newtonsoft.json/13.0.3")
        XCTAssertTrue(r.packages.allSatisfy { $0.ecosystem == .nuget && $0.namespace == nil })
    }

    func testWithoutARootProjectOfTheFilesName() {
        let r = catalogOne(dotnet, path: "/app/Other.deps.json", depsJSON())
        XCTAssertEqual(r.packages.map(\.name), ["Native.Lib", "Newtonsoft.Json", "Serilog.AspNetCore", "Serilog"])
    }

    func testBundlerRelaxesTheDLLClaim() {
        let r = catalogOne(dotnet, path: "/app/MyApp.deps.json", depsJSON(extraTarget: ",\n\"Costura.Fody/5.7.0\": {}"))
        XCTAssertEqual(r.packages.map(\.name), ["MyApp", "Costura.Fody", "Microsoft.NETCore.Platforms", "Native.Lib", "Newtonsoft.Json",
                                                "Serilog.AspNetCore", "Serilog", "System.Runtime"])
    }

    func testMalformed() {
        for text in ["", "[]", "{\"targets\": 5}", "{\"targets\": {\"x\": {\"A/1\": {\"dependencies\": {\"A\": \"1\"}}}}}", "{\"targets\": {"] {
            let r = catalogOne(dotnet, path: "/app/A.deps.json", text)
            XCTAssertEqual(r.packages.count, 0, text)
        }
        XCTAssertEqual(catalogOne(dotnet, path: "/app/A.deps.json", "{\"targets\": {").warnings.count, 1)
        // A dependency cycle without DLLs ends.
        let cycle = #"{"targets":{"t":{"A/1":{"dependencies":{"B":"1"}},"B/1":{"dependencies":{"A":"1"}}}},"libraries":{}}"#
        XCTAssertEqual(catalogOne(dotnet, path: "/app/X.deps.json", cycle).packages.count, 0)
    }
}
