import EmotionClassifier
import Foundation

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif

/// Lines of standard input decoded like `--input` files: each line is UTF-8 if it is valid UTF-8,
/// otherwise cp949 (`TextDecoder`); bytes valid in neither are an error naming the line.
enum StandardInput {
    nonisolated(unsafe) private static var buffer: [UInt8] = []
    nonisolated(unsafe) private static var start = 0
    nonisolated(unsafe) private static var atEnd = false
    nonisolated(unsafe) private static var lineNumber = 0

    /// The next line without its line end (LF or CRLF), nil at end of input.
    static func readLine() throws -> String? {
        guard let bytes = nextLineBytes() else { return nil }
        lineNumber += 1
        do {
            return try TextDecoder.decode(bytes).text
        } catch {
            throw StandardInputError(message: "standard input, line \(lineNumber): \(error)")
        }
    }

    private static func nextLineBytes() -> [UInt8]? {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                var line = Array(buffer[start..<nl])
                start = nl + 1
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            if start > 0 { buffer.removeFirst(start); start = 0 }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { atEnd = true } else { buffer += chunk[0..<n] }
        }
    }
}

struct StandardInputError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
