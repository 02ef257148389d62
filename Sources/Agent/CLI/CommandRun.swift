// One run of a CLI command (scan, fetch, list): its reactor, the stop watcher that sees SIGINT/SIGTERM
// (and the scan's deadline) from a thread of its own, each step of work run on the reactor until it
// finishes or a stop comes, and the exit codes every command shares: 130 on SIGINT, 143 on SIGTERM.
import Core
import Glibc

final class CommandRun: @unchecked Sendable {   // @unchecked: `stopWork` is set and called on the reactor's thread only (the watcher hops there)
    /// What a step of work came to.
    enum Step<T> {
        case finished(T)
        case stopped(CancellationReason)
    }

    let command: String
    let reactor: Reactor
    /// Raised by a signal or the deadline; busy parts (the scanner) poll it.
    let cancellation = Cancellation()
    private var watcher: StopWatcher?
    private var stopWork: (() -> Void)?

    /// `work` and `output` name, in the lines printed when a stop goes wrong, what is being done and
    /// what is written once it is done ("scan", "report").
    init(command: String, work: String, output: String, deadlineMilliseconds: Int? = nil) throws(SystemError) {
        self.command = command
        reactor = try Reactor()
        // Started before any other thread, so every thread inherits SIGINT/SIGTERM blocked and the
        // watcher alone receives them, even while the reactor thread is busy inflating or cataloging.
        watcher = StopWatcher(cancellation: cancellation, deadlineMilliseconds: deadlineMilliseconds,
                              onStop: { [self] _ in reactor.execute { self.stopWork?() } },
                              onStuck: { why in
                                  Console.err("cr-agent \(command): \(why.message); the \(work) did not stop within 1000 ms, exiting\n")
                                  _exit(TerminationSignals.exitStatus(for: why))
                              },
                              afterSettle: { why in
                                  // Interrupted while the output is written: stop now, as the user asked.
                                  Console.err("cr-agent \(command): \(why.message) while writing the \(output)\n")
                                  _exit(TerminationSignals.exitStatus(for: why))
                              })
    }

    /// How every command begins, in this order: the environment's secrets registered for redaction
    /// (before anything could log), the arguments parsed (help or a usage error ends the command), a
    /// logger on stderr at the options' level, then the run. Else the exit status, its line printed.
    static func begin<Options: CommandOptions>(command: String, arguments: [String], environment env: Environment, usage: String,
                                               parse: ([String], Environment) -> ParsedCommand<Options>, work: String, output: String,
                                               deadlineMilliseconds: (Options) -> Int? = { _ in nil })
        -> Result<(options: Options, logger: Logger, run: CommandRun), ExitStatus> {
        Redaction.registerSecrets(fromEnvironment: env.values)
        let options: Options
        switch parse(arguments, env).options(command: command, usage: usage) {
        case .success(let o): options = o
        case .failure(let exit): return .failure(exit)
        }
        let logger = Logger(level: options.logLevel, fd: 2, component: "cr-agent \(command)")
        do {
            let run = try CommandRun(command: command, work: work, output: output, deadlineMilliseconds: deadlineMilliseconds(options))
            return .success((options, logger, run))
        } catch {
            Console.err("cr-agent \(command): cannot start: \(error)\n")
            return .failure(ExitStatus(code: 1))
        }
    }

    /// The signal that stopped the command, if one did.
    var signalReason: CancellationReason? {
        if let why = cancellation.reason, case .signal = why { return why }
        return nil
    }

    /// Starts a step on the reactor and runs the reactor until the step calls `done` or a signal comes.
    /// A stop (signal or deadline) calls the `cancel` that `start` returned, on the reactor's thread.
    /// nil: the loop ended with neither.
    func perform<T>(_ start: (_ done: @escaping (T) -> Void) -> (() -> Void)) -> Step<T>? {
        if let why = signalReason { return .stopped(why) }
        var result: T?
        var finished = false
        var running = false
        let cancel = start { [reactor] value in
            guard !finished else { return }
            finished = true
            result = value
            // A stop asked for outside `run()` would end the next step's run at once.
            if running { reactor.stop() }
        }
        if !finished {
            running = true
            // A signal ends the step at once; a deadline only cancels it, and the step ends with its own failure.
            stopWork = { [self] in
                cancel()
                if signalReason != nil { reactor.stop() }
            }
            reactor.run()
            stopWork = nil
        }
        if let why = signalReason { return .stopped(why) }
        return result.map { .finished($0) }
    }

    /// The work is over: the deadline no longer applies and a signal from now on ends the process at once.
    func settle() { watcher?.settle() }

    /// Prints `cr-agent <command>: interrupted|terminated before the <work> finished` and gives 130 or 143.
    func stopped(_ why: CancellationReason, before work: String) -> Int32 {
        settle()
        let word: String
        if case .signal(let s) = why, s == SIGTERM { word = "terminated" } else { word = "interrupted" }
        Console.err("cr-agent \(command): \(word) before the \(work) finished\n")
        return TerminationSignals.exitStatus(for: why)
    }

    /// The exit status of a command's last step, once settled: 0 after `report` has printed its result;
    /// 1 with the registry error's line; 130/143 when a signal stopped it.
    func conclude<T>(_ step: Step<Result<T, RegistryError>>?, work: String, report: (T) -> Void) -> Int32 {
        settle()
        switch step {
        case .stopped(let why)?:
            return stopped(why, before: work)
        case .finished(.success(let value))?:
            report(value)
            return 0
        case .finished(.failure(let e))?:
            Console.err("cr-agent \(command): \(e)\n")
            return 1
        case nil:
            Console.err("cr-agent \(command): the event loop stopped before the \(work) finished\n")
            return 1
        }
    }

    /// Prints a failure of the registry access in one line: 2 for the caller's configuration, 1 for the registry's answer.
    func failed(_ failure: RegistryAccessFailure) -> Int32 {
        settle()
        Console.err("cr-agent \(command): \(failure)\n")
        if case .configuration = failure { return 2 }
        return 1
    }

    /// The registry credentials `access` gives `registry` (the type's exchange, on the reactor), or the
    /// exit status after one line.
    func registryCredentials(_ access: RegistryAccess, for registry: RegistryBase, session: RegistrySession, work: String) -> Result<RegistryCredentials, ExitStatus> {
        let step = perform { (done: @escaping (Result<RegistryCredentials, RegistryAccessFailure>) -> Void) in
            access.registryCredentials(for: registry, session: session, done: done)
            return {}
        }
        switch step {
        case .finished(.success(let c))?: return .success(c)
        case .finished(.failure(let f))?: return .failure(ExitStatus(code: failed(f)))
        case .stopped(let why)?: return .failure(ExitStatus(code: stopped(why, before: work)))
        case nil:
            settle()
            Console.err("cr-agent \(command): the event loop stopped before the registry login finished\n")
            return .failure(ExitStatus(code: 1))
        }
    }
}
