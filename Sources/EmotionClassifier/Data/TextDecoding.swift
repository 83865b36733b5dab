import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A text encoding the dataset loader can read.
///
/// The seed dataset is cp949 (Microsoft's Korean code page, a superset of EUC-KR); files written by this
/// project and most newer exports are UTF-8.
public enum TextEncoding: String, Sendable, Codable, CaseIterable {
    /// UTF-8, with or without a byte-order mark.
    case utf8
    /// Microsoft code page 949 (Unified Hangul Code), read with iconv.
    case cp949
}

/// Why bytes could not be turned into text.
public enum TextDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The bytes are not valid in `encoding`. `offset` is the 0-based byte offset of the first bad byte,
    /// `line` the 1-based line it is on.
    case invalidBytes(encoding: TextEncoding, offset: Int, line: Int)
    /// The system converter for `encoding` is not available (for cp949: iconv without the UHC module).
    case converterUnavailable(encoding: TextEncoding)
    /// The bytes hold a NUL byte (at `offset`): a binary file, not text.
    case binary(offset: Int)

    public var description: String {
        switch self {
        case let .invalidBytes(encoding, offset, line):
            "invalid \(encoding.rawValue) byte sequence at byte offset \(offset) (line \(line))"
        case let .converterUnavailable(encoding):
            "no converter for \(encoding.rawValue) on this system (iconv_open failed)"
        case let .binary(offset):
            "not a text file (a NUL byte at byte offset \(offset)); expected UTF-8 or cp949 text"
        }
    }
}

/// Decodes file bytes to text: detects UTF-8 (with or without a byte-order mark) and falls back to cp949.
public enum TextDecoder {
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Guesses the encoding: a UTF-8 byte-order mark or bytes that are valid UTF-8 mean `.utf8`,
    /// anything else `.cp949`.
    public static func detectEncoding(of bytes: [UInt8]) -> TextEncoding {
        if bytes.starts(with: byteOrderMark) { return .utf8 }
        return firstInvalidUTF8Offset(in: bytes[...]) == nil ? .utf8 : .cp949
    }

    /// Decodes `bytes` as `encoding`, or as the detected encoding when `encoding` is nil.
    ///
    /// A leading UTF-8 byte-order mark is removed. Invalid bytes are an error, never replaced.
    /// - Returns: the text and the encoding that was used.
    public static func decode(_ bytes: [UInt8], as encoding: TextEncoding? = nil) throws(TextDecodingError)
        -> (text: String, encoding: TextEncoding)
    {
        if let nul = bytes.firstIndex(of: 0) { throw .binary(offset: nul) }
        guard let encoding else {
            // Detected: UTF-8 if valid, else cp949. When the bytes are neither, the error is about the
            // encoding the file follows longer (a UTF-8 file with one bad byte on line 102 fails as
            // cp949 at its first Korean character; that error would say nothing useful).
            if detectEncoding(of: bytes) == .utf8 { return try decode(bytes, as: .utf8) }
            do {
                return (try convertCP949(bytes), .cp949)
            } catch let cp949Error {
                guard case let .invalidBytes(_, cp949Offset, _) = cp949Error,
                      let utf8Offset = firstInvalidUTF8Offset(in: bytes[...]), utf8Offset > cp949Offset else { throw cp949Error }
                throw .invalidBytes(encoding: .utf8, offset: utf8Offset, line: lineNumber(ofOffset: utf8Offset, in: bytes))
            }
        }
        switch encoding {
        case .utf8:
            let bomLength = bytes.starts(with: byteOrderMark) ? byteOrderMark.count : 0
            let body = bytes[bomLength...]
            if let bad = firstInvalidUTF8Offset(in: body) {
                throw .invalidBytes(encoding: .utf8, offset: bad, line: lineNumber(ofOffset: bad, in: bytes))
            }
            return (String(decoding: body, as: UTF8.self), .utf8)
        case .cp949:
            return (try convertCP949(bytes), .cp949)
        }
    }

    /// The absolute byte offset of the first byte that does not belong to a valid UTF-8 sequence,
    /// or nil when all of `bytes` is valid UTF-8.
    private static func firstInvalidUTF8Offset(in bytes: ArraySlice<UInt8>) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = bytes.startIndex
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// 1-based line number of the byte at `offset` (counts LF bytes before it; LF is never a trail byte
    /// in UTF-8 or cp949).
    static func lineNumber(ofOffset offset: Int, in bytes: [UInt8]) -> Int {
        bytes[..<min(offset, bytes.count)].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// Converts cp949 bytes to a String with the C library's iconv.
    private static func convertCP949(_ bytes: [UInt8]) throws(TextDecodingError) -> String {
        if bytes.isEmpty { return "" }
        let converter = iconv_open("UTF-8", "CP949")
        guard let converter, converter != iconv_t(bitPattern: -1) else {
            throw .converterUnavailable(encoding: .cp949)
        }
        defer { iconv_close(converter) }

        // Korean text grows from 2 bytes (cp949) to 3 bytes (UTF-8) per character; ASCII stays 1:1.
        var output = [UInt8](repeating: 0, count: bytes.count * 2 + 16)
        var input = bytes
        var failedOffset: Int?
        let written = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                inBuffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: inBuffer.count) { inBase in
                    outBuffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: outBuffer.count) { outBase in
                        var inPointer: UnsafeMutablePointer<CChar>? = inBase
                        var outPointer: UnsafeMutablePointer<CChar>? = outBase
                        var inLeft = inBuffer.count
                        var outLeft = outBuffer.count
                        // The buffer is large enough for any cp949 input, so the only failures are bad bytes
                        // (EILSEQ) or a truncated sequence at the end (EINVAL).
                        if iconv(converter, &inPointer, &inLeft, &outPointer, &outLeft) == -1 {
                            failedOffset = inBuffer.count - inLeft
                        }
                        return outBuffer.count - outLeft
                    }
                }
            }
        }
        if let failedOffset {
            throw .invalidBytes(encoding: .cp949, offset: failedOffset,
                                line: lineNumber(ofOffset: failedOffset, in: bytes))
        }
        return String(decoding: output[..<written], as: UTF8.self)
    }
}
