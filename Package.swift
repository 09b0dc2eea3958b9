// swift-tools-version:6.0
import PackageDescription

// sleepfold runs on Linux (tested on Debian 12, x86-64 with AVX2 and FMA; other
// CPUs build the model core as plain Swift). SwiftPM's `platforms:` only names
// Apple systems, which sleepfold does not support (it reads /proc, and its
// system libraries come from apt), so none is declared.
let package = Package(
    name: "sleepfold",
    products: [
        .executable(name: "sleepfold", targets: ["sleepfold"]),
        .library(name: "SleepNet", targets: ["SleepNet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // C libraries: a module map and a shim header each, nothing else.
        // libzmq (apt: libzmq3-dev) installs zmq.h in /usr/include; its pkg-config file adds
        // Kerberos and PGM include flags that SwiftPM refuses with a warning, and needs none of.
        .systemLibrary(name: "CZeroMQ"),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // OpenSSL's libcrypto (apt: libssl-dev), for SHA-256 with the CPU's SHA extensions.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // glibc's Linux calls that Swift's Glibc module leaves out (syncfs).
        .systemLibrary(name: "CLinux"),
        // Intel AMX tile instructions (no Swift spelling): one kernel, inline in its header.
        .systemLibrary(name: "CAMX"),

        // Data: what a recording is, how it is stored, where it comes from.
        // Small general pieces (stages, seeded randomness, errors, atomic files, CPU checks, FFT).
        .target(name: "Basics"),
        // One night in memory (signal + stages), its content hash, the epoch-file format.
        .target(name: "Recordings", dependencies: ["Basics", "COpenSSL"]),
        // Nights on disk as NPZ files, NPY/NPZ codecs, cohorts (directories and manifests).
        .target(name: "Cohorts", dependencies: [
            "Basics", "Recordings", .product(name: "ZIPFoundation", package: "ZIPFoundation"),
        ]),
        // EDF / EDF+ / BDF reader and writer, EDF+ annotations.
        .target(name: "EDF", dependencies: ["Basics"]),
        // `prepare`: PSG + hypnogram EDF (or NSRR XML) to NPZ nights.
        .target(name: "Preparation", dependencies: ["Basics", "Recordings", "Cohorts", "EDF"]),
        // `synth`: synthetic cohorts (NPZ, or EDF + NSRR XML).
        .target(name: "Synthesis", dependencies: ["Basics", "Recordings", "Cohorts", "EDF", "Preparation"]),

        // Evaluation: folds, predictions, metrics, statistics; then reports.
        .target(name: "Evaluation", dependencies: ["Basics"]),
        .target(name: "Reports", dependencies: ["Basics", "Recordings", "Evaluation"]),

        // Model core (no network, no archives).
        // sleepfold's own sgemm: the blocked loops and packing (Sgemm, generic over the
        // micro-kernel) and one module per kernel, each compiled for its CPU.
        .target(name: "Sgemm"),
        .target(name: "SgemmAVX512", dependencies: ["Sgemm"]),
        .target(name: "SgemmAVX2", dependencies: ["Sgemm"]),
        // The evaluation's elementwise hot loops (Elementwise, generic) and their AVX-512 build.
        .target(name: "Elementwise"),
        .target(name: "ElementwiseAVX512", dependencies: ["Elementwise"]),
        // The opt-in bf16 evaluation: stride-1 convolutions on AMX tiles.
        .target(name: "MatrixAMX", dependencies: ["CAMX", "Basics"]),
        .target(name: "SleepNet", dependencies: [
            "COpenBLAS", "Sgemm", "SgemmAVX512", "SgemmAVX2", "Elementwise", "ElementwiseAVX512", "MatrixAMX",
            "Basics", "Recordings",
            "Evaluation",
        ]),

        // `stage`: a new night (EDF or NPZ) staged by a checkpoint or a run's folds: hypnogram,
        // hypnodensity, sleep statistics (night.html is drawn by Reports).
        .target(name: "Staging", dependencies: [
            "Basics", "Recordings", "Cohorts", "EDF", "Preparation", "Evaluation", "Reports", "SleepNet",
        ]),

        // Cluster: the wire protocol and ZeroMQ messaging both sides share; then each side.
        .target(name: "Shared", dependencies: [
            "CZeroMQ", "Basics",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "Worker", dependencies: ["Shared", "SleepNet", "Basics", "Recordings", "Cohorts", "Evaluation"]),
        .target(name: "Coordinator", dependencies: [
            "Shared", "Basics", "Recordings", "Cohorts", "Evaluation", "Reports", "CLinux",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),  // the journal is protobuf JSON
        ]),

        // Studies: arms × seeds × folds as one queue, and their comparison.
        .target(name: "Studies", dependencies: [
            "Basics", "Recordings", "Cohorts", "Evaluation", "Reports", "SleepNet", "Shared", "Coordinator",
        ]),

        // Tools.
        .executableTarget(name: "sleepfold", dependencies: [
            "Basics", "Recordings", "Cohorts", "EDF", "Preparation", "Synthesis", "Evaluation", "Reports",
            "SleepNet", "Staging", "Shared", "Worker", "Coordinator", "Studies",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests: one target per module, plus end-to-end tests of the command.
        // TestSupport finds Tests/Fixtures (shared by the data, EDF and evaluation tests).
        .target(name: "TestSupport", dependencies: ["Recordings", "EDF"], path: "Tests/TestSupport"),
        .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
        .testTarget(name: "RecordingsTests", dependencies: ["Recordings", "Basics", "TestSupport"]),
        .testTarget(name: "CohortsTests", dependencies: ["Cohorts", "Recordings", "Basics", "TestSupport"]),
        .testTarget(name: "EDFTests", dependencies: ["EDF", "Basics", "TestSupport"]),
        .testTarget(name: "PreparationTests", dependencies: ["Preparation", "Synthesis", "EDF", "Cohorts", "Recordings", "Basics", "TestSupport"]),
        .testTarget(name: "SynthesisTests", dependencies: ["Synthesis", "Preparation", "EDF", "Cohorts", "Recordings", "Basics", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Basics", "TestSupport"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports", "Evaluation", "Recordings", "Basics", "TestSupport"]),
        .testTarget(name: "SgemmTests", dependencies: ["Sgemm", "SgemmAVX512", "SgemmAVX2", "Basics"]),
        .testTarget(name: "MatrixAMXTests", dependencies: ["MatrixAMX", "Basics"]),
        .testTarget(name: "SleepNetTests", dependencies: ["SleepNet", "Elementwise", "ElementwiseAVX512", "Recordings", "Cohorts", "Synthesis", "Evaluation", "Basics", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "StagingTests", dependencies: [
            "Staging", "SleepNet", "EDF", "Preparation", "Evaluation", "Cohorts", "Recordings", "Basics", "TestSupport",
        ]),
        .testTarget(name: "SharedTests", dependencies: ["Shared", "Basics"]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "SleepNet", "Shared", "Synthesis", "Cohorts", "Recordings", "Evaluation", "Basics"]),
        .testTarget(name: "CoordinatorTests", dependencies: [
            "Coordinator", "Shared", "Cohorts", "Recordings", "Evaluation", "Basics", "SleepNet",
        ]),
        .testTarget(name: "StudiesTests", dependencies: [
            "Studies", "Coordinator", "SleepNet", "Reports", "Evaluation", "Cohorts", "Recordings", "Synthesis", "Shared", "Basics", "TestSupport",
        ]),
        // End to end: the real `sleepfold` executable in real processes.
        .testTarget(name: "SleepfoldTests", dependencies: [
            "sleepfold", "Shared", "Basics", "Recordings", "Cohorts", "EDF", "Preparation", "Synthesis", "Evaluation", "Reports",
            "SleepNet", "TestSupport",
        ]),
    ]
)

// Release builds are -O with whole-module optimisation (SwiftPM's default).
// The model core also drops overflow and bounds checks in release: its hot loops
// run on unsafe buffer pointers over shapes checked once at layer construction.
// On x86-64 it is compiled for x86-64-v3 (LLVM's "haswell": AVX2, FMA), so its
// elementwise loops vectorise 8 wide with fused multiply-adds; the commands that
// run it check the CPU first (CPUFeatures.requireModelCore) and name what is missing.
for target in package.targets where ["SleepNet", "SgemmAVX2", "Elementwise"].contains(target.name) {
    #if arch(x86_64)
    target.swiftSettings = [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
                            .unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .debug))]
    #else
    target.swiftSettings = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
    #endif
}

// SgemmAVX512, ElementwiseAVX512 and MatrixAMX are compiled for AVX-512 (and nothing else is;
// CAMX's kernel carries its own AMX target attributes):
// SleepNet calls them only on the AVX-512 backend, chosen after checking the CPU
// (GEMMBackend). On other hosts they build as plain SIMD code and are never called.
// SgemmAVX2 is compiled as SleepNet is (above). Sgemm is generic code, compiled into
// each kernel's module, where it is specialised. Elementwise's `@inlinable` loops are
// compiled into ElementwiseAVX512 for AVX-512; SleepNet may call Elementwise's own
// copies rather than inline them, so Elementwise is compiled as SleepNet is (above).
for target in package.targets where ["SgemmAVX512", "ElementwiseAVX512", "MatrixAMX"].contains(target.name) {
    #if arch(x86_64)
    target.swiftSettings = [
        .unsafeFlags(["-target-cpu", "skylake-avx512"]),
        .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
    ]
    #else
    target.swiftSettings = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
    #endif
}
