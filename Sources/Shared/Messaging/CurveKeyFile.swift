import Foundation
import Basics

/// Key files of `sleepfold keygen`: `NAME.key` holds the public key and may be
/// copied anywhere; `NAME.key_secret` holds both keys and stays private
/// (mode 0600). Both are text: `public-key = "…"` and `secret-key = "…"` lines,
/// as in CZMQ's certificate files, with `#` comments.
///
/// Errors are `SleepfoldError`s naming the file: `.badKeyFile` for a malformed or
/// incomplete key file (with the line as the field), `.io` / `.fileNotFound` when it
/// cannot be read or written.
public enum CurveKeyFile {
    /// Writes `DIR/NAME.key` and `DIR/NAME.key_secret`; returns their URLs.
    public static func write(_ keys: CurveKeyPair, name: String, directory: URL) throws(SleepfoldError) -> (public: URL, secret: URL) {
        try fileAccess(directory.path, cannot: "create the key directory") {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        let pub = directory.appendingPathComponent("\(name).key")
        let sec = directory.appendingPathComponent("\(name).key_secret")
        let header = "# sleepfold CURVE key \"\(name)\", made \(ISO8601DateFormatter().string(from: Date()))\n"
        try fileAccess(pub.path, cannot: "write the public key") {
            try (header + "public-key = \"\(keys.publicKey)\"\n").write(to: pub, atomically: true, encoding: .utf8)
        }
        try fileAccess(sec.path, cannot: "write the secret key") {
            try (header + "# SECRET: keep this file private.\npublic-key = \"\(keys.publicKey)\"\nsecret-key = \"\(keys.secretKey)\"\n")
                .write(to: sec, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: sec.path)
        }
        return (pub, sec)
    }

    /// Reads a `.key` file's public key.
    public static func readPublicKey(_ url: URL) throws(SleepfoldError) -> String {
        let fields = try read(url)
        guard let key = fields["public-key"] else {
            throw SleepfoldError(.badKeyFile, file: url.path, field: "public-key", found: "no public-key line",
                                 expected: "public-key = \"<40-character Z85 key>\" (a .key file from `sleepfold keygen`)")
        }
        return key
    }

    /// Reads a `.key_secret` file's key pair.
    public static func readKeyPair(_ url: URL) throws(SleepfoldError) -> CurveKeyPair {
        let fields = try read(url)
        guard let pub = fields["public-key"], let sec = fields["secret-key"] else {
            throw SleepfoldError(.badKeyFile, file: url.path, field: fields["public-key"] == nil ? "public-key" : "secret-key",
                                 found: "no such line",
                                 expected: "public-key and secret-key lines (a .key_secret file from `sleepfold keygen`)")
        }
        return CurveKeyPair(publicKey: pub, secretKey: sec)
    }

    /// Public keys of every `*.key` file in a directory (the admitted workers).
    public static func readPublicKeys(directory: URL) throws(SleepfoldError) -> [String] {
        let names = try fileAccess(directory.path, cannot: "list the directory of worker keys") {
            try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".key") }.sorted()
        }
        guard !names.isEmpty else {
            throw SleepfoldError(.fileNotFound, file: directory.path, found: "no *.key files",
                                 expected: "worker public keys from `sleepfold keygen`")
        }
        var keys: [String] = []
        for name in names { keys.append(try readPublicKey(directory.appendingPathComponent(name))) }
        return keys
    }

    private static func read(_ url: URL) throws(SleepfoldError) -> [String: String] {
        let text = try fileAccess(url.path, cannot: "read the key file") { try String(contentsOf: url, encoding: .utf8) }
        var fields: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let parts = line.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, parts[1].count == 42, parts[1].hasPrefix("\""), parts[1].hasSuffix("\"") else {
                // The line is not quoted: it may hold (part of) a secret key.
                throw SleepfoldError(.badKeyFile, file: url.path, field: "line \(n + 1)", found: "a line of another form",
                                     expected: "name = \"<40-character Z85 key>\"")
            }
            let key = String(parts[1].dropFirst().dropLast())
            guard CurveKeyPair.isValidKey(key) else {
                throw SleepfoldError(.badKeyFile, file: url.path, field: "line \(n + 1)",
                                     found: "\(parts[0]) = a value that is not a Z85 key", expected: "a 40-character Z85 key")
            }
            fields[parts[0]] = key
        }
        return fields
    }
}

extension SleepfoldError.Code {
    /// A CURVE key file with a malformed line, a value that is not a Z85 key, or a missing key.
    public static let badKeyFile = Self("badKeyFile")
}
