import Foundation
import Testing

/// `--threads` and `KOBERT_GEMM`: the compute context every command runs in, named in the
/// training log and in `--version`.
struct ComputeOptionTests {
    @Test func versionNamesTheMatrixProductLibraries() throws {
        let r = try CLITests.run(["--version"], cache: try CLITests.tempDir())
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("matrix products: "), "\(r.stdout)")
        #if os(Linux)
        #expect(r.stdout.contains("onednn: oneDNN ") && r.stdout.contains("(isa ") && r.stdout.contains("openblas: OpenBLAS"), "\(r.stdout)")
        #endif
    }

    @Test func badThreadCountsAndBackendNamesAreRefused() throws {
        let dir = try CLITests.tempDir()
        for (args, env, needle) in [
            (["train", "--threads", "0", "--epochs", "1"], [String: String](), "--threads"),
            (["evaluate", "--threads", "100000"], [:], "--threads"),
            (["train", "--epochs", "1"], ["KOBERT_GEMM": "mkl"], "KOBERT_GEMM"),
            (["predict", "--threads", "1", "안녕"], ["KOBERT_GEMM": "cuda"], "KOBERT_GEMM"),
        ] {
            let r = try CLITests.run(args, cache: dir, environment: env)
            #expect(r.status != 0, "\(args) \(env) exited 0")
            #expect(r.stderr.contains(needle), "\(args) \(env): stderr does not mention \(needle): \(r.stderr)")
        }
    }

    /// The training log names the threads and the library the products ran on, as chosen.
    @Test func trainingLogNamesThreadsAndBackend() throws {
        #if os(Linux)
        let choices: [(String, String)] = [("openblas", "OpenBLAS"), ("onednn", "oneDNN")]
        #else
        let choices: [(String, String)] = [("accelerate", "Accelerate")]
        #endif
        for (name, library) in choices {
            let dir = try CLITests.tempDir()
            let r = try CLITests.run(["train", "--epochs", "1", "--scratch-shape", "16,1,2,24", "--max-len", "32", "--no-baseline",
                                      "--threads", "1", "-o", "m"], cache: dir, environment: ["KOBERT_GEMM": name])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("compute: 1 thread; matrix products: \(library)"), "\(r.stdout)")
        }
    }
}
