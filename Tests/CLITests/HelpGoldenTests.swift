import Foundation
import Testing

/// Help text is part of the interface: each command's `--help`, at 80 columns, against a golden copy
/// in `Tests/CLITests/Golden/`. After changing an option on purpose, regenerate them with
/// `KOBERT_UPDATE_GOLDEN=1 swift test --filter HelpGoldenTests` and review the diff.
struct HelpGoldenTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let commands = [[], ["train"], ["evaluate"], ["predict"], ["tokenize"], ["serve"], ["download"], ["check-parity"]]

    @Test(arguments: commands)
    func helpMatchesTheGoldenCopy(_ command: [String]) throws {
        let cache = try CLITests.tempDir()
        let r = try CLITests.run(command + ["--help"], cache: cache, environment: ["COLUMNS": "80", "LINES": "24"])
        #expect(r.status == 0, "\(r.stderr)")
        let file = Self.golden.appendingPathComponent((command.first ?? "kobert-emotion") + ".txt")
        if ProcessInfo.processInfo.environment["KOBERT_UPDATE_GOLDEN"] == "1" {
            try Data(r.stdout.utf8).write(to: file)
            return
        }
        let want = try String(contentsOf: file, encoding: .utf8)
        #expect(r.stdout.unicodeScalars.elementsEqual(want.unicodeScalars),
                "help of \(command) differs from \(file.lastPathComponent):\n\(r.stdout)")
    }
}
