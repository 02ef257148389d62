// Starting and joining the threads reactors run on (pthreads directly: no Foundation in Core).
import CEpoll
import Glibc

/// A started thread that can be joined.
public struct JoinableThread: @unchecked Sendable {   // @unchecked: pthread_t is a plain handle, joined once
    let handle: pthread_t

    /// Starts `body` on a new thread named `name` (at most 15 characters are kept by the kernel).
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) -> JoinableThread {
        final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
        let threadName = String(name.prefix(15))
        let box = Unmanaged.passRetained(Box { cep_set_thread_name(threadName); body() }).toOpaque()
        var t = pthread_t()
        let rc = pthread_create(&t, nil, { arg in
            let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            b.body()
            return nil
        }, box)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        return JoinableThread(handle: t)
    }

    /// Waits for the thread to end.
    public func join() { pthread_join(handle, nil) }
}
