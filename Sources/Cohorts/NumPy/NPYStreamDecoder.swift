import Basics
import Recordings
/// Decodes an `.npy` byte stream that arrives in chunks (a ZIP member being
/// inflated, a file being read), without needing all of it in memory.
///
/// Feed chunks with `consume(_:)`; once the header is complete, element bytes are
/// passed to `onElements` in pieces that always hold whole elements. `finish()`
/// checks that exactly the bytes the header declares arrived.
struct NPYStreamDecoder {
    /// Header, once enough bytes arrived to parse it.
    private(set) var header: NPYHeader?
    /// Bytes seen so far while the header is incomplete; then a partial element.
    private var pending: [UInt8] = []
    /// Element bytes delivered so far.
    private(set) var dataBytesSeen = 0
    /// Called with each run of whole elements (little-endian, C order).
    var onElements: (NPYHeader, UnsafeRawBufferPointer) throws -> Void
    /// Size of the whole stream (header and data) when known in advance: checked
    /// against the header's shape as soon as the header is read, before any element
    /// is delivered, so a shape claiming more than the stream holds is refused
    /// before a consumer reserves memory for it.
    var streamSize: Int?

    init(onElements: @escaping (NPYHeader, UnsafeRawBufferPointer) throws -> Void) {
        self.onElements = onElements
    }

    /// Takes the next chunk of the stream.
    mutating func consume(_ chunk: UnsafeRawBufferPointer) throws {
        guard let header else {
            pending.append(contentsOf: chunk)
            let parsed = try pending.withUnsafeBytes { try NPYHeader.parse(prefix: $0, isComplete: false) }
            guard let parsed else { return }
            if let streamSize { try Self.check(parsed, streamSize: streamSize) }
            self.header = parsed
            let rest = Array(pending[parsed.dataOffset...])
            pending = []
            try rest.withUnsafeBytes { try deliver($0, header: parsed) }
            return
        }
        try deliver(chunk, header: header)
    }

    /// Checks that the data `header` declares (count × item size, checked for
    /// overflow when parsed) is what a stream of `streamSize` bytes holds.
    static func check(_ header: NPYHeader, streamSize: Int) throws {
        let available = streamSize - header.dataOffset
        let (declared, overflow) = header.dataOffset.addingReportingOverflow(header.byteCount)
        if !overflow && declared == streamSize { return }
        let needs = "shape \(describe(shape: header.shape)) of \(header.dtype.rawValue) needs \(header.byteCount) bytes"
        if overflow || declared > streamSize {
            throw SleepfoldError(.truncated, "data is truncated: \(needs), found \(max(0, available))")
        }
        throw SleepfoldError(.sizeMismatch, "data is longer than the header declares: \(needs), found \(available)")
    }

    /// Checks the end of the stream: header complete and data exactly as declared.
    mutating func finish() throws -> NPYHeader {
        guard let header else {
            // Whatever arrived is a prefix of a header; parse it as complete to get the precise error.
            _ = try pending.withUnsafeBytes { try NPYHeader.parse(prefix: $0, isComplete: true) }
            throw SleepfoldError(.truncated, "found the end of the data inside the .npy header, expected the whole header")
        }
        let received = dataBytesSeen + pending.count
        guard received >= header.byteCount else {
            throw SleepfoldError(.truncated,
                                 "data is truncated: shape \(describe(shape: header.shape)) of \(header.dtype.rawValue) "
                                 + "needs \(header.byteCount) bytes, found \(received)")
        }
        return header
    }

    /// Passes whole elements on, keeps a trailing partial element, and rejects
    /// bytes beyond the declared size.
    private mutating func deliver(_ chunk: UnsafeRawBufferPointer, header: NPYHeader) throws {
        let received = dataBytesSeen + pending.count + chunk.count
        guard received <= header.byteCount else {
            throw SleepfoldError(.sizeMismatch,
                                 "data is longer than the header declares: shape \(describe(shape: header.shape)) of "
                                 + "\(header.dtype.rawValue) needs \(header.byteCount) bytes, found more")
        }
        let itemSize = header.dtype.itemSize
        var chunk = chunk
        if !pending.isEmpty {
            // Complete the element split across the previous chunk boundary.
            let take = min(itemSize - pending.count, chunk.count)
            pending.append(contentsOf: chunk[0..<take])
            chunk = UnsafeRawBufferPointer(rebasing: chunk[take...])
            guard pending.count == itemSize else { return }
            try pending.withUnsafeBytes { try onElements(header, $0) }
            dataBytesSeen += itemSize
            pending = []
        }
        let whole = chunk.count - chunk.count % itemSize
        if whole > 0 {
            try onElements(header, UnsafeRawBufferPointer(rebasing: chunk[0..<whole]))
            dataBytesSeen += whole
        }
        pending.append(contentsOf: chunk[whole...])
    }
}
