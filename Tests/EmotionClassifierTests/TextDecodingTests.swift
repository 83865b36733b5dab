import Foundation
import Testing
@testable import EmotionClassifier

@Suite struct TextDecodingTests {
    @Test func utf8WithByteOrderMarkIsDetectedAndStripped() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("발화문,상황\n".utf8)
        #expect(TextDecoder.detectEncoding(of: bytes) == .utf8)
        let decoded = try TextDecoder.decode(bytes)
        #expect(decoded.encoding == .utf8)
        #expect(scalars(decoded.text) == scalars("발화문,상황\n"))
    }

    @Test func plainUTF8IsDetected() throws {
        let decoded = try TextDecoder.decode(Array("안녕, world\n".utf8))
        #expect(decoded.encoding == .utf8)
        #expect(scalars(decoded.text) == scalars("안녕, world\n"))
    }

    @Test func cp949FixtureIsDetectedAndDecoded() throws {
        let bytes = try [UInt8](Data(contentsOf: fixtureURL("cp949-sample.csv")))
        #expect(TextDecoder.detectEncoding(of: bytes) == .cp949)
        let decoded = try TextDecoder.decode(bytes)
        #expect(decoded.encoding == .cp949)
        let lines = decoded.text.components(separatedBy: "\r\n")
        #expect(scalars(lines[0]) == scalars("발화문,상황"))
        #expect(scalars(lines[1]) == scalars("오늘 점심은 회사 앞 분식집에서 먹었어.,neutral"))
    }

    @Test func invalidCP949BytesReportOffsetAndLine() throws {
        let bytes = try [UInt8](Data(contentsOf: fixtureURL("cp949-invalid.csv")))
        #expect(throws: TextDecodingError.invalidBytes(encoding: .cp949, offset: 59, line: 3)) {
            try TextDecoder.decode(bytes, as: .cp949)
        }
    }

    @Test func forcingUTF8OnCP949ReportsFirstBadByte() throws {
        let bytes = try [UInt8](Data(contentsOf: fixtureURL("cp949-sample.csv")))
        #expect(throws: TextDecodingError.invalidBytes(encoding: .utf8, offset: 0, line: 1)) {
            try TextDecoder.decode(bytes, as: .utf8)
        }
    }

    @Test func invalidUTF8InTheMiddleReportsOffsetAndLine() {
        let bytes = Array("ab\nc".utf8) + [0xC3, 0x28]
        #expect(throws: TextDecodingError.invalidBytes(encoding: .utf8, offset: 4, line: 2)) {
            try TextDecoder.decode(bytes, as: .utf8)
        }
    }

    @Test func emptyInputDecodesToEmptyText() throws {
        #expect(try TextDecoder.decode([], as: .cp949).text.isEmpty)
        #expect(try TextDecoder.decode([]).text.isEmpty)
    }
}
