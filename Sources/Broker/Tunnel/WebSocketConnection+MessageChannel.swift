// Core's WebSocket connection is the broker's message channel: it has exactly the protocol's members.
import Core

extension WebSocketConnection: MessageChannel {}
