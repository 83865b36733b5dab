// swift-tools-version: 6.0
import PackageDescription

// Dependencies run one way: Kernels, SafeTensors -> BERT -> EmotionClassifier <- SentencePiece;
// FileSafety (atomic writes, output locks, plain file reads) under SafeTensors, BERT, EmotionClassifier and the tool.
// The command-line tool depends only on EmotionClassifier (and FileSafety).
let package = Package(
    name: "kobert-emotion",
    platforms: [.macOS(.v13), .iOS(.v16)],
    products: [
        .library(name: "EmotionClassifier", targets: ["EmotionClassifier"]),
        .library(name: "BERT", targets: ["BERT"]),
        .library(name: "SafeTensors", targets: ["SafeTensors"]),
        .library(name: "SentencePiece", targets: ["SentencePiece"]),
        .executable(name: "kobert-emotion", targets: ["kobert-emotion"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // OpenBLAS on Linux (libopenblas-dev). On Apple platforms Kernels imports Accelerate instead.
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // AVX2 kernels chosen at run time (no CPU-specific compiler flags, so dependents can build it).
        .target(name: "CKernels"),
        .target(
            name: "Kernels",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))],
            // Raw-pointer kernels shared across threads by design: Swift 5 mode, where sending
            // pointers into parallel loops is not a compile error.
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // Atomic writes, output-directory locks, temporary-file cleanup (no dependencies).
        .target(name: "FileSafety"),
        .target(name: "SafeTensors", dependencies: ["FileSafety"]),
        .target(name: "BERT", dependencies: ["Kernels", "CKernels", "SafeTensors", "FileSafety"], swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(
            name: "SentencePiece",
            resources: [.copy("Resources/emotion-dialogue.model")]
        ),
        .target(name: "EmotionClassifier", dependencies: ["BERT", "SentencePiece", "FileSafety"], resources: [.copy("Resources/sample-emotions.csv")]),
        .executableTarget(
            name: "kobert-emotion",
            dependencies: [
                "EmotionClassifier",
                "FileSafety",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SafeTensorsTests", dependencies: ["SafeTensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "KernelsTests", dependencies: ["Kernels", "CKernels", "SafeTensors"], resources: [.copy("Fixtures")]),
        .testTarget(name: "BERTTests", dependencies: ["BERT"], resources: [.copy("Fixtures")]),
        .testTarget(name: "SentencePieceTests", dependencies: ["SentencePiece", "EmotionClassifier"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmotionClassifierTests", dependencies: ["EmotionClassifier"], resources: [.copy("Fixtures")]),
        .testTarget(name: "CLITests", dependencies: ["kobert-emotion", "FileSafety"]),
        .testTarget(name: "FileSafetyTests", dependencies: ["FileSafety"]),
        // The seeded mutation engine shared by fuzz tests, and the fuzz tests over every file reader.
        .target(name: "FuzzSupport", path: "Tests/FuzzSupport"),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzSupport", "SafeTensors", "SentencePiece", "BERT", "EmotionClassifier"]),
        // Side-by-side benchmark (Benchmarks/run.sh); not part of the tests.
        .executableTarget(name: "kobert-bench", dependencies: ["EmotionClassifier", "SentencePiece", "BERT", "Kernels"], path: "Benchmarks/Swift"),
    ]
)
