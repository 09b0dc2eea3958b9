import Foundation
import Testing
import Basics

/// The model core on a CPU without AVX-512. SleepNet and the AVX2 kernel are built
/// for x86-64-v3, the AVX-512 kernel for AVX-512, all in one binary: a train on the
/// AVX2 kernel must not execute one AVX-512 instruction. QEMU's user-mode emulator
/// (`qemu-x86_64 -cpu Haswell`: AVX2 and FMA, no AVX-512) runs a small train,
/// training and evaluation slices included; the same run on the AVX-512 kernel must
/// die of an illegal instruction, which shows the emulator holds to that CPU.
/// CI installs qemu-user (.ci/run).
private let haswellEmulator = "/usr/bin/qemu-x86_64"
private var haswellEmulatorRuns: Bool {
    #if arch(x86_64)
    return FileManager.default.isExecutableFile(atPath: haswellEmulator)
    #else
    return false
    #endif
}

@Suite(.enabled(if: haswellEmulatorRuns, "needs x86-64 and qemu-x86_64 (apt: qemu-user)"))
struct AVX2OnlyCPUTests {
    static let emulator = haswellEmulator

    /// `sleepfold train` on fold 0 of 3 tiny subjects (36 epochs a night: a test night
    /// is evaluated in two slices), one training epoch, as a Haswell.
    static func trainAsHaswell(kernel: String, in dir: URL) throws -> CommandRunner.Output {
        let data = dir.appendingPathComponent("data"), config = dir.appendingPathComponent("tiny.json")
        if !FileManager.default.fileExists(atPath: data.path) {
            let synth = try CommandRunner.run(["synth", "--subjects", "3", "--nights", "1", "--hours", "0.3",
                                               "--seed", "1", "--out", data.path])
            try #require(synth.status == 0, "\(synth.stderr)")
            try Data(#"""
                {"name": "tiny", "model": {"cnnFirstChannels": 8, "cnnChannels": 16, "afrChannels": 4, "heads": 4, "dFF": 16},
                 "training": {"epochs": 1, "batchSize": 16}}
                """#.utf8).write(to: config)
        }
        let out = dir.appendingPathComponent("run-\(kernel)")
        return try Script.run(emulator, ["-cpu", "Haswell", CommandRunner.executable.path, "train", "--data", data.path,
                                         "--folds", "3", "--fold", "0", "--config", config.path, "--threads", "1",
                                         "--out", out.path],
                              environment: ["SLEEPFOLD_GEMM": kernel], timeout: 600)
    }

    @Test func theAVX2KernelRunsWithoutAVX512() throws {
        let dir = try CommandRunner.temporaryDirectory("avx2-only")
        defer { try? FileManager.default.removeItem(at: dir) }
        let avx2 = try Self.trainAsHaswell(kernel: "avx2", in: dir)
        #expect(avx2.status == 0, "\(avx2.stderr.suffix(2000))")
        #expect(avx2.stdout.contains("fold 0: accuracy"), "\(avx2.stdout)")
        // The emulator must refuse AVX-512 (the switch is honoured only where the host has it).
        if CPUFeatures.current.hasAVX512 {
            let avx512 = try Self.trainAsHaswell(kernel: "avx512", in: dir)
            #expect(avx512.status != 0)
            #expect(avx512.stderr.contains("Illegal instruction"), "\(avx512.stderr.suffix(2000))")
        }
    }
}
