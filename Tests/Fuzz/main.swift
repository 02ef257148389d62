// The fuzz executable's entry point.
//
// Built with `-Xswiftc -sanitize=fuzzer[,address] -Xswiftc -DFUZZING` (scripts/fuzz.sh does this), it is a
// libFuzzer binary: the target comes from the environment variable FUZZ_TARGET and every argument goes to
// libFuzzer (`FUZZ_TARGET=chunked Fuzz -max_total_time=20 corpus/`).
//
// Built plainly (`swift build --product Fuzz`), it replays inputs without libFuzzer:
// `Fuzz <target> <files or directories...>` runs the target once over each file.
//
// Either way `Fuzz --list` prints the registered targets, one per line.
#if canImport(Glibc)
import Glibc
#endif

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "--list" {
    for name in FuzzTargets.names { print(name) }
    exit(0)
}
#if FUZZING
exit(LibFuzzerDriver.run())
#else
exit(Replay.run(arguments))
#endif
