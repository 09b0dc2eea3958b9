import ArgumentParser
import Foundation
import Basics
import Cohorts
import EDF
import Synthesis
import Reports
import SleepNet
import Shared

struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make a CurveZMQ key pair for a coordinator or a worker.",
        discussion: """
        Writes OUT/NAME.key (public: give it to the other side) and OUT/NAME.key_secret \
        (private, mode 0600). A coordinator started with --curve-secret FILE --allow DIR \
        admits only workers whose NAME.key files are in DIR; a worker connects with \
        --curve-secret FILE --server-key COORDINATOR.key.
        """)

    @Option(help: "Directory to write the key files to.")
    var out: String

    @Option(help: "Base name of the key files.")
    var name: String = "sleepfold"

    func run() throws {
        guard ZMQContext.hasCurve else {
            throw ValidationError("this libzmq (\(ZMQContext.libraryVersion)) was built without CURVE")
        }
        let files = try CurveKeyFile.write(try CurveKeyPair.generate(), name: name, directory: URL(fileURLWithPath: out))
        print("public key: \(files.public.path)")
        print("secret key: \(files.secret.path) (keep private)")
    }
}
