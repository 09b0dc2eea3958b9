import Foundation
import Basics
import EDF
import Synthesis
import Evaluation
import Reports
import Shared

/// Test hosts on one machine: network namespaces, each joined to host 0 by a
/// veth pair, each with its own address (10.231.<k>.0/24 per link),
/// made by the test and removed after it. Needs root and iproute2.
struct NetworkNamespaces {
    let names: [String]
    private let tag: String

    /// True if this process can create (and remove) a namespace here.
    static var available: Bool {
        guard getuid() == 0, let ip = ipPath else { return false }
        let name = "sfprobe\(getpid())"
        guard (try? run(ip, ["netns", "add", name])) == 0 else { return false }
        _ = try? run(ip, ["netns", "del", name])
        return true
    }

    static var ipPath: String? {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Host 0 is linked to every other host i over veth, addresses 10.231.i.1 (host 0) and 10.231.i.2 (host i).
    init(hosts: Int) throws {
        let ip = Self.ipPath!
        tag = String(getpid() % 100_000)
        let tag = self.tag
        let names = (0..<hosts).map { "sf\(tag)h\($0)" }
        self.names = names
        func must(_ args: [String]) throws {
            guard try Self.run(ip, args) == 0 else { throw Failure("ip \(args.joined(separator: " ")) failed") }
        }
        for n in names { try must(["netns", "add", n]) }
        for n in names { try must(["-n", n, "link", "set", "lo", "up"]) }
        for i in 1..<hosts {
            let a = "sf\(tag)a\(i)", b = "sf\(tag)b\(i)"
            try must(["link", "add", a, "netns", names[0], "type", "veth", "peer", "name", b, "netns", names[i]])
            try must(["-n", names[0], "addr", "add", "10.231.\(i).1/24", "dev", a])
            try must(["-n", names[i], "addr", "add", "10.231.\(i).2/24", "dev", b])
            try must(["-n", names[0], "link", "set", a, "up"])
            try must(["-n", names[i], "link", "set", b, "up"])
            // Every worker host reaches host 0's first address through its own link.
            try must(["-n", names[i], "route", "add", "default", "via", "10.231.\(i).1"])
        }
    }

    /// The address other hosts reach host 0 by (the first link's; every link reaches it).
    func address(_ host: Int) -> String {
        precondition(host == 0, "workers connect to host 0")
        return "10.231.1.1"
    }

    /// Command prefix that runs a program inside host `i`.
    func exec(_ i: Int) -> [String] { [Self.ipPath!, "netns", "exec", names[i]] }

    func remove() {
        for n in names { _ = try? Self.run(Self.ipPath!, ["netns", "del", n]) }
    }

    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }
}
