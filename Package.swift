// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "sleepfold",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sleepfold", targets: ["sleepfold"]),
        .library(name: "SleepNet", targets: ["SleepNet"]),
        .library(name: "Shared", targets: ["Shared"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // C libraries: a module map and a shim header each, nothing else.
        .systemLibrary(name: "CZeroMQ", pkgConfig: "libzmq", providers: [.apt(["libzmq3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Core.
        .target(name: "Shared", dependencies: [
            "CZeroMQ",
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "SgemmAVX512"),
        .target(name: "SleepNet", dependencies: ["COpenBLAS", "SgemmAVX512", "Shared"]),
        .target(name: "Worker", dependencies: ["Shared", "SleepNet"]),
        .target(name: "Coordinator", dependencies: ["Shared"]),

        // Tools.
        .executableTarget(name: "sleepfold", dependencies: [
            "Shared", "SleepNet", "Worker", "Coordinator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Tests: one target per module, plus end-to-end tests of the command.
        .testTarget(name: "SharedTests", dependencies: ["Shared"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SgemmAVX512Tests", dependencies: ["SgemmAVX512", "Shared"]),
        .testTarget(name: "SleepNetTests", dependencies: ["SleepNet", "Shared"], resources: [.copy("Fixtures")]),
        .testTarget(name: "WorkerTests", dependencies: ["Worker", "SleepNet", "Shared"]),
        .testTarget(name: "CoordinatorTests", dependencies: ["Coordinator", "Shared"]),
        // End to end: the real `sleepfold` executable in real processes.
        .testTarget(name: "SleepfoldTests", dependencies: ["sleepfold", "Shared"]),
    ]
)

// Release builds are -O with whole-module optimisation (SwiftPM's default).
// The model core also drops overflow and bounds checks in release: its hot loops
// run on unsafe buffer pointers over shapes checked once at layer construction.
// On x86-64 it is compiled for x86-64-v3 (LLVM's "haswell": AVX2, FMA), so its
// elementwise loops vectorise 8 wide with fused multiply-adds; the commands that
// run it check the CPU first (CPUFeatures.requireModelCore) and name what is missing.
for target in package.targets where target.name == "SleepNet" {
    #if arch(x86_64)
    target.swiftSettings = [.unsafeFlags(["-Ounchecked", "-target-cpu", "haswell"], .when(configuration: .release)),
                            .unsafeFlags(["-target-cpu", "haswell"], .when(configuration: .debug))]
    #else
    target.swiftSettings = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
    #endif
}

// SgemmAVX512 is compiled for AVX-512 (and nothing else is): SleepNet calls it only
// after checking the CPU (GEMMBackend). On other hosts it builds as plain SIMD code
// and is never called.
for target in package.targets where target.name == "SgemmAVX512" {
    #if arch(x86_64)
    target.swiftSettings = [
        .unsafeFlags(["-target-cpu", "skylake-avx512"]),
        .unsafeFlags(["-Ounchecked"], .when(configuration: .release)),
    ]
    #else
    target.swiftSettings = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
    #endif
}
