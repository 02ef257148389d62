// Termination signals (SIGTERM, SIGINT) delivered as reactor events through a signalfd.
import CEpoll

public enum TerminationSignals {
    /// Blocks SIGTERM/SIGINT for this thread and the threads it starts later, and calls `handler` on
    /// `reactor`'s thread with the signal number each time one arrives. Call before starting threads.
    public static func watch(on reactor: Reactor, handler: @escaping (Int32) -> Void) throws(SystemError) {
        let fd = cep_termination_signalfd()
        guard fd >= 0 else { throw SystemError("signalfd", code: fd) }
        try reactor.register(fd: fd, events: .readable) { _ in
            while case let sig = cep_signalfd_read(fd), sig != 0 { handler(sig) }
        }
    }
}
