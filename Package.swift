// swift-tools-version: 6.0
import PackageDescription

// Dependencies run one way: Kernels, SafeTensors -> BERT -> EmotionClassifier <- SentencePiece;
// FileSafety (atomic writes, output locks, plain file reads) under SafeTensors, BERT, EmotionClassifier and the tool.
// The command-line tool depends only on EmotionClassifier (and FileSafety; Kernels for its compute context).
let package = Package(
    name: "kobert-emotion",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "EmotionClassifier", targets: ["EmotionClassifier"]),
        .library(name: "BERT", targets: ["BERT"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "SentencePiece", targets: ["SentencePiece"]),
        .library(name: "TorchCheckpoint", targets: ["TorchCheckpoint"]),
        .library(name: "HubClient", targets: ["HubClient"]),
        .executable(name: "kobert-emotion", targets: ["kobert-emotion"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The zip container of .xlsx datasets and of torch.save checkpoints; .xlsx's small XML parts.
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
        .package(url: "https://github.com/drmohundro/SWXMLHash", from: "8.1.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // The HTTP service (EmotionServer) and its tests.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/mattpolzin/OpenAPIKit", from: "6.4.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // OpenBLAS on Linux (libopenblas-dev). On Apple platforms Kernels imports Accelerate instead.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // oneDNN on Linux (libdnnl-dev; Debian ships no pkg-config file for it): the default
        // matrix-product backend there, OpenBLAS the other (GEMMBackend, Kernels/BLAS.swift).
        .systemLibrary(
            name: "CDNNL",
            path: "Sources/CDNNL",
            providers: [.apt(["libdnnl-dev"])]
        ),
        // AVX2 kernels chosen at run time (no CPU-specific compiler flags, so dependents can build it).
        .target(name: "CKernels"),
        .target(
            name: "Kernels",
            dependencies: [
                "CKernels",
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                .target(name: "CDNNL", condition: .when(platforms: [.linux])),
            ],
            // Raw-pointer kernels shared across threads by design: Swift 5 mode, where sending
            // pointers into parallel loops is not a compile error.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // Atomic writes, output-directory locks, temporary-file cleanup (no dependencies).
        .target(name: "FileSafety"),
        .target(name: "SafeTensors", dependencies: ["FileSafety"]),
        // PyTorch checkpoints (pytorch_model.bin) through a restricted unpickler; nothing is executed.
        .target(name: "TorchCheckpoint", dependencies: ["SafeTensors", "FileSafety", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(name: "BERT", dependencies: ["Kernels", "CKernels", "SafeTensors", "TorchCheckpoint", "FileSafety"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(
            name: "SentencePiece",
            resources: [.copy("Resources/emotion-dialogue.model")]
        ),
        .target(
            name: "EmotionClassifier",
            dependencies: [
                "BERT", "SentencePiece", "FileSafety",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "SWXMLHash", package: "SWXMLHash"),
            ],
            resources: [.copy("Resources/sample-emotions.csv")]),
        // Downloads from the Hugging Face Hub into huggingface_hub's cache layout.
        .target(
            name: "HubClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // A task executor with threads of its own (the HTTP service's; the tests' in-process servers').
        .target(name: "Executors"),
        // `kobert-emotion serve`: TEI-style HTTP API with dynamic batching over EmotionModel.
        .target(
            name: "EmotionServer",
            dependencies: [
                "EmotionClassifier", "BERT", "Kernels", "SentencePiece", "Executors", "FileSafety",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "kobert-emotion",
            dependencies: [
                "EmotionClassifier",
                "HubClient",
                "FileSafety",
                "EmotionServer",
                "Kernels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels", "SafeTensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BERTTests", dependencies: ["BERT"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SentencePieceTests", dependencies: ["SentencePiece", "EmotionClassifier"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmotionClassifierTests", dependencies: ["EmotionClassifier"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "TorchCheckpointTests",
            dependencies: ["TorchCheckpoint", "SafeTensors", .product(name: "ZIPFoundation", package: "ZIPFoundation")], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CLITests", dependencies: ["kobert-emotion", "EmotionClassifier", "FileSafety", "FuzzSupport", "HubTestSupport"],
            exclude: ["Golden"]),  // read from the source tree, as the goldens are regenerated in place
        // The fake Hugging Face Hub on 127.0.0.1 shared by HubClientTests and CLITests; only test targets
        // depend on it. Its fixtures (a cache written by Python's huggingface_hub, with symlinks, and a
        // tiny KoBERT-like repository) are read from the source tree.
        .target(
            name: "HubTestSupport",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                "TestExecutors",
            ],
            path: "Tests/HubTestSupport",
            exclude: ["Fixtures"]
        ),
        // Threads of their own for the servers tests run in-process, so that synchronous tests holding
        // Swift's cooperative threads cannot starve them (Tests/TestExecutors).
        .target(name: "TestExecutors", dependencies: ["Executors"], path: "Tests/TestExecutors"),
        .testTarget(name: "HubClientTests", dependencies: ["HubClient", "HubTestSupport", "TestExecutors"]),
        .testTarget(name: "FileSafetyTests", dependencies: ["FileSafety"]),
        // The seeded mutation engine shared by fuzz tests, and the fuzz tests over every file reader.
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzSupport", "SafeTensors", "SentencePiece", "BERT", "EmotionClassifier"]),
        .testTarget(
            name: "EmotionServerTests",
            dependencies: [
                "EmotionServer", "EmotionClassifier", "kobert-emotion", "TestExecutors",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // Side-by-side benchmark (Benchmarks/run.sh); not part of the tests.
        .executableTarget(name: "kobert-bench", dependencies: ["EmotionClassifier", "SentencePiece", "BERT", "Kernels"], path: "Benchmarks/Swift"),
    ]
)
