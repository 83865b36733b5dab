import Foundation

/// The test target's `Fixtures` folder.
func fixtureURL(_ name: String) -> URL {
    Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
}

/// The package root (three levels above this file).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The seed tutorial's dataset (cp949, never in the repository), named by the environment variable
/// `KOBERT_SEED_CSV` (.ci/run sets it when `../shared/data/emotion-dialogue-5th-2.csv` exists). Tests that
/// need it are disabled, with that reason shown, when the variable is unset.
enum SeedData {
    static let url: URL? = ProcessInfo.processInfo.environment["KOBERT_SEED_CSV"]
        .flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
}

/// A fresh empty directory for one test.
func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("EmotionClassifierTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `bytes` to a new file in a fresh temporary directory.
func temporaryFile(_ bytes: [UInt8], name: String = "data.csv") throws -> URL {
    let url = try temporaryDirectory().appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url
}

/// Writes `text` as UTF-8 to a new file in a fresh temporary directory.
func temporaryFile(_ text: String, name: String = "data.csv") throws -> URL {
    try temporaryFile(Array(text.utf8), name: name)
}

/// Text as Unicode scalars, for exact comparisons (Swift `String ==` ignores canonical differences).
func scalars(_ text: String) -> [Unicode.Scalar] {
    Array(text.unicodeScalars)
}

func scalars(_ texts: [String]) -> [[Unicode.Scalar]] {
    texts.map(scalars)
}
