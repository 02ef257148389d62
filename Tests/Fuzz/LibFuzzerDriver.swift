// libFuzzer mode (compiled with -DFUZZING and -sanitize=fuzzer).
//
// SwiftPM links every executable with `--defsym main=<Module>_main`, so libFuzzer's own `main` never runs
// and our top-level code does instead. It picks the target and hands control to libFuzzer's driver
// through `LLVMFuzzerRunDriver`, the documented entry point for programs that keep their own main.
// `LLVMFuzzerTestOneInput` must still exist because libFuzzer's main (linked whole-archive) refers to it.
#if FUZZING
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var selectedTarget: FuzzTargetFunction?

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let target = selectedTarget else { fuzzFail("no fuzz target selected") }
    target(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// `int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))` from libFuzzer.
/// Swift has no way to import a C function without a C module (an executable target cannot hold one) or
/// an experimental feature, so it is bound by symbol name. Its three pointer arguments and int result are
/// passed the same way by the Swift and C conventions on x86_64 and arm64. (Looking it up with dlsym would
/// need the executable to export the symbol, which SwiftPM's link does not.)
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

enum LibFuzzerDriver {
    static func run() -> Int32 {
        let names = FuzzTargets.names.joined(separator: ", ")
        guard let raw = getenv("FUZZ_TARGET") else {
            writeStderr("Fuzz: set FUZZ_TARGET to one of: \(names)\n")
            return 2
        }
        let name = String(cString: raw)
        guard let target = FuzzTargets.named(name) else {
            writeStderr("Fuzz: unknown FUZZ_TARGET \(name); targets: \(names)\n")
            return 2
        }
        selectedTarget = target
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        return LLVMFuzzerRunDriver(&argc, &argv, fuzzTestOneInput)
    }
}
#endif
