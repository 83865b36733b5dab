import Foundation
import Testing
@testable import SentencePiece

/// Issue #12 item 2 (brief C): a corrupt normalisation trie must not overflow the stack.
@Suite struct CorruptModelTests {
    /// A trie of zeroed units makes node 0 its own child under byte 0: the old recursive
    /// `canRunOn` followed that cycle until the stack overflowed (SIGSEGV).
    @Test func zeroedTrieDoesNotRecurseForever() throws {
        let charsmap = try PrecompiledCharsmap([16, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + [0x41, 0])
        let result = charsmap.canRunOn([0], same: [0x00...0x7F], others: [0x1100...0x1112, 0xAC00...0xD7A3],
                                       rest: [0x1161...0x1175], entersOthers: false)
        #expect(result == false)
    }

    /// `dd if=/dev/zero ... seek=... count=3000` inside the built-in model's charsmap: loading gives a
    /// model or a clean error, never a crash.
    @Test func zeroedRangeInsideTheCharsmapLoadsOrFailsCleanly() throws {
        let bytes = [UInt8](try Data(contentsOf: SentencePieceModel.builtInEmotionDialogue))
        let blob = try ModelProto(bytes: bytes).normalizerSpec.precompiledCharsmap
        let head = Array(blob.prefix(64))
        let start = try #require((0...(bytes.count - head.count)).first { bytes[$0] == head[0] && Array(bytes[$0..<$0 + head.count]) == head })
        for (offset, count) in [(8, 3000), (1000, 3000), (4, blob.count / 2), (blob.count / 3, 200)] {
            var corrupt = bytes
            let lo = start + offset, hi = min(start + offset + count, start + blob.count)
            for k in lo..<hi { corrupt[k] = 0 }
            if let model = try? SentencePieceModel(data: Data(corrupt)) {
                _ = model.encode("테스트 문장입니다. ㅋㅋ ABC")
            }
        }
    }
}
