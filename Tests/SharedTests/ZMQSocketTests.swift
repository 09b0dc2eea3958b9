import Foundation
import Testing
import Basics
import Shared

@Suite struct ZMQSocketTests {
    @Test func routerAndDealerExchangeMultipartMessages() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context, .router)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))

        let dealer = try ZMQSocket(context, .dealer)
        try dealer.setRoutingID(Array("worker-1".utf8))
        try dealer.connect(endpoint)
        try dealer.send([Array("v1".utf8), [0, 1, 2, 255], []])

        #expect(try router.waitForInput(timeout: 5))
        let message = try #require(try router.receive())
        #expect(message == [Array("worker-1".utf8), Array("v1".utf8), [0, 1, 2, 255], []])

        try router.send([Array("worker-1".utf8), Array("reply".utf8)])
        #expect(try dealer.waitForInput(timeout: 5))
        #expect(try dealer.receive() == [Array("reply".utf8)])
        #expect(try dealer.receive(wait: false) == nil)
    }

    @Test func errorsCarryTheCallAndErrnoText() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, .router)
        let error = try #require(throws: SleepfoldError.self) { try socket.bind("nonsense://x") }
        #expect(error.code == .zmq && error.errno == EPROTONOSUPPORT && error.file == nil && error.field == nil)
        #expect(error.description == "zmq_bind nonsense://x failed: \(String(cString: strerror(EPROTONOSUPPORT))) (errno \(EPROTONOSUPPORT))")
        #expect(!error.wouldBlock && !error.interrupted)
        // A DEALER with no peer cannot queue a message: without waiting, that is EAGAIN.
        let dealer = try ZMQSocket(context, .dealer)
        let full = try #require(throws: SleepfoldError.self) { try dealer.send([[1]], wait: false) }
        #expect(full.code == .zmq && full.wouldBlock && !full.interrupted, "\(full)")
    }

    @Test func pollerReportsWhichSocketIsReadable() throws {
        let context = try ZMQContext()
        let a = try ZMQSocket(context, .router), b = try ZMQSocket(context, .router)
        try a.bind("inproc://a"); try b.bind("inproc://b")
        let client = try ZMQSocket(context, .dealer)
        try client.connect("inproc://b")
        try client.send([[42]])
        let poller = ZMQPoller([a, b])
        #expect(try poller.poll(timeout: 5) == [false, true])
        _ = try b.receive()
        #expect(try poller.poll(timeout: 0.05) == [false, false])
    }

    @Test(.enabled(if: ZMQContext.hasCurve))
    func curveAdmitsOnlyListedClientKeys() throws {
        let context = try ZMQContext()
        let serverKeys = try CurveKeyPair.generate()
        let admittedKeys = try CurveKeyPair.generate()
        let strangerKeys = try CurveKeyPair.generate()
        #expect(CurveKeyPair.isValidKey(serverKeys.publicKey))
        #expect(!CurveKeyPair.isValidKey("not a key"))

        let auth = try ZAPAuthenticator(context: context, allowedKeys: [admittedKeys.publicKey])
        let router = try ZMQSocket(context, .router)
        try router.makeCurveServer(secretKey: serverKeys.secretKey)
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = try router.lastEndpoint

        let stranger = try ZMQSocket(context, .dealer)
        try stranger.makeCurveClient(keys: strangerKeys, serverKey: serverKeys.publicKey)
        try stranger.connect(endpoint)
        try stranger.send([Array("from stranger".utf8)])

        let friend = try ZMQSocket(context, .dealer)
        try friend.makeCurveClient(keys: admittedKeys, serverKey: serverKeys.publicKey)
        try friend.connect(endpoint)
        try friend.send([Array("from friend".utf8)])

        var received: [String] = []
        var decisions: [Bool] = []
        auth.onDecision = { _, admitted in decisions.append(admitted) }
        let poller = ZMQPoller([router, auth.socket])
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline && (received.isEmpty || decisions.count < 2) {
            let ready = try poller.poll(timeout: 0.1)
            if ready[1] { try auth.answerPending() }
            if ready[0], let m = try router.receive() { received.append(String(decoding: m[1], as: UTF8.self)) }
        }
        #expect(received == ["from friend"])
        #expect(decisions.sorted { !$0 && $1 } == [false, true])
    }
}

@Suite struct CurveKeyFileTests {
    @Test func keysRoundTripThroughFilesAndSecretIsPrivate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = try CurveKeyPair.generate()
        let files = try CurveKeyFile.write(keys, name: "worker-a", directory: dir)
        #expect(try CurveKeyFile.readPublicKey(files.public) == keys.publicKey)
        #expect(try CurveKeyFile.readKeyPair(files.secret) == keys)
        #expect(try CurveKeyFile.readPublicKeys(directory: dir) == [keys.publicKey])
        let mode = try FileManager.default.attributesOfItem(atPath: files.secret.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try "public-key = \"short\"\n".write(to: files.public, atomically: true, encoding: .utf8)
        let short = try #require(throws: SleepfoldError.self) { try CurveKeyFile.readPublicKey(files.public) }
        #expect(short.code == .badKeyFile && short.file == files.public.path && short.field == "line 1")
        #expect(short.message == "found a line of another form, expected name = \"<40-character Z85 key>\"")
        try "# no keys\n".write(to: files.secret, atomically: true, encoding: .utf8)
        let none = try #require(throws: SleepfoldError.self) { try CurveKeyFile.readKeyPair(files.secret) }
        #expect(none.code == .badKeyFile && none.file == files.secret.path && none.field == "public-key")
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let noKeys = try #require(throws: SleepfoldError.self) { try CurveKeyFile.readPublicKeys(directory: empty) }
        #expect(noKeys.code == .fileNotFound && noKeys.file == empty.path)
        let missing = try #require(throws: SleepfoldError.self) { try CurveKeyFile.readPublicKey(dir.appendingPathComponent("absent.key")) }
        #expect(missing.code == .fileNotFound && missing.message.hasPrefix("cannot read the key file: "), "\(missing)")
    }
}
