import Basics
import Recordings
import Evaluation
/// An error a user of the model core sees: a bad config, checkpoint or tensor
/// file. The message names the file, the field, what was found and what was
/// expected.
public struct SleepNetError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem this is (growable without breaking callers).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        public static let invalidConfig = Code(name: "invalid-config")
        public static let invalidFile = Code(name: "invalid-file")
        public static let missingTensor = Code(name: "missing-tensor")
        public static let shapeMismatch = Code(name: "shape-mismatch")
        public static let io = Code(name: "io")
        public var description: String { name }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
