// How many bytes a tunnel socket has waiting to be written: what the callbacks check before they add
// more, so that the agent's callbacks cannot queue on the tunnel without bound.
import Core

/// A tunnel socket that can tell how many bytes it has queued and not yet written to the network.
protocol TunnelOutputQueue: AnyObject {
    var bufferedBytes: Int { get }
}

extension BrokerSocket: TunnelOutputQueue {}

extension TunnelSlot {
    /// Bytes the open socket has waiting to be written (0 for a socket that cannot tell).
    var queuedBytes: Int { (socket as? any TunnelOutputQueue)?.bufferedBytes ?? 0 }
}
