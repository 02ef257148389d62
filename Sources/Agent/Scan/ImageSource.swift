// Where an image comes from: a registry, an OCI layout directory or a `docker save` archive. Each
// source resolves the image for one platform and streams its layers with backpressure, on a reactor.
import Core

/// A layer stream that a paused consumer can resume, or that can be cancelled.
public protocol LayerStream: AnyObject {
    func resume()
    func cancel()
}

public protocol ImageSource: AnyObject {
    /// How the user named the image, for reports.
    var displayName: String { get }
    func resolve(_ done: @escaping (Result<ResolvedImage, ScanFailure>) -> Void)
    /// Streams the layer's compressed bytes; `done` reports how the stream ended.
    @discardableResult
    func streamLayer(_ layer: Descriptor, onChunk: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition,
                     done: @escaping (Result<Int, ScanFailure>) -> Void) -> LayerStream
}

/// Why a scan failed: a registry error, a scan (content or limit) error, a bad reference/source, or a
/// stop request (signal, deadline) that ended it.
public enum ScanFailure: Error, CustomStringConvertible, Sendable {
    case registry(RegistryError)
    case scan(ScanError)
    case source(String)
    case cancelled(CancellationReason)

    public var description: String {
        switch self {
        case .registry(let e): return e.description
        case .scan(let e): return e.description
        case .source(let m): return m
        case .cancelled(let why): return why.message
        }
    }
}

/// An image in a registry, through the registry client.
public final class RegistryImageSource: ImageSource {
    public let client: RegistryClient
    public let reference: ImageReference
    public let displayName: String

    public init(client: RegistryClient, reference: ImageReference, displayName: String) {
        self.client = client
        self.reference = reference
        self.displayName = displayName
    }

    public func resolve(_ done: @escaping (Result<ResolvedImage, ScanFailure>) -> Void) {
        client.resolve(reference) { done($0.mapError { .registry($0) }) }
    }

    public func streamLayer(_ layer: Descriptor, onChunk: @escaping (UnsafeRawBufferPointer) -> ClientBodyDisposition,
                            done: @escaping (Result<Int, ScanFailure>) -> Void) -> LayerStream {
        let download = client.streamBlob(repository: reference.repository, descriptor: layer, onChunk: onChunk) { done($0.mapError { .registry($0) }) }
        return BlobLayerStream(download)
    }
}

final class BlobLayerStream: LayerStream {
    let download: BlobDownload
    init(_ d: BlobDownload) { download = d }
    func resume() { download.resume() }
    func cancel() { download.cancel() }
}
