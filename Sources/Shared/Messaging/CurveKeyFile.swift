import Foundation
import Basics

/// Key files of `sleepfold keygen`: `NAME.key` holds the public key and may be
/// copied anywhere; `NAME.key_secret` holds both keys and stays private
/// (mode 0600). Both are text: `public-key = "…"` and `secret-key = "…"` lines,
/// as in CZMQ's certificate files, with `#` comments.
public enum CurveKeyFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Writes `DIR/NAME.key` and `DIR/NAME.key_secret`; returns their URLs.
    public static func write(_ keys: CurveKeyPair, name: String, directory: URL) throws -> (public: URL, secret: URL) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pub = directory.appendingPathComponent("\(name).key")
        let sec = directory.appendingPathComponent("\(name).key_secret")
        let header = "# sleepfold CURVE key \"\(name)\", made \(ISO8601DateFormatter().string(from: Date()))\n"
        try (header + "public-key = \"\(keys.publicKey)\"\n").write(to: pub, atomically: true, encoding: .utf8)
        try (header + "# SECRET: keep this file private.\npublic-key = \"\(keys.publicKey)\"\nsecret-key = \"\(keys.secretKey)\"\n")
            .write(to: sec, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: sec.path)
        return (pub, sec)
    }

    /// Reads a `.key` file's public key.
    public static func readPublicKey(_ url: URL) throws -> String {
        let fields = try read(url)
        guard let key = fields["public-key"] else { throw Failure(description: "\(url.path): no public-key line") }
        return key
    }

    /// Reads a `.key_secret` file's key pair.
    public static func readKeyPair(_ url: URL) throws -> CurveKeyPair {
        let fields = try read(url)
        guard let pub = fields["public-key"], let sec = fields["secret-key"] else {
            throw Failure(description: "\(url.path): expected public-key and secret-key lines (a .key_secret file from `sleepfold keygen`)")
        }
        return CurveKeyPair(publicKey: pub, secretKey: sec)
    }

    /// Public keys of every `*.key` file in a directory (the admitted workers).
    public static func readPublicKeys(directory: URL) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".key") }.sorted()
        guard !names.isEmpty else { throw Failure(description: "\(directory.path): no *.key files (worker public keys from `sleepfold keygen`)") }
        return try names.map { try readPublicKey(directory.appendingPathComponent($0)) }
    }

    private static func read(_ url: URL) throws -> [String: String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw Failure(description: "\(url.path): cannot read key file")
        }
        var fields: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[1].count == 42, parts[1].hasPrefix("\""), parts[1].hasSuffix("\"") else {
                throw Failure(description: "\(url.path) line \(n + 1): expected name = \"<40-character Z85 key>\"")
            }
            let key = String(parts[1].dropFirst().dropLast())
            guard CurveKeyPair.isValidKey(key) else {
                throw Failure(description: "\(url.path) line \(n + 1): \(parts[0]) is not a Z85 key")
            }
            fields[parts[0]] = key
        }
        return fields
    }
}
