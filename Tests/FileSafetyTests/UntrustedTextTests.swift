import Testing
import FileSafety

/// `untrustedText`: what a file's text may look like once it is in an error message.
@Suite struct UntrustedTextTests {
    @Test func plainTextIsUnchanged() {
        #expect(untrustedText("bert.encoder.layer.0.attention.self.query.weight") == "bert.encoder.layer.0.attention.self.query.weight")
        #expect(untrustedText("가중치 é ü") == "가중치 é ü")
        #expect(untrustedText("") == "")
    }

    @Test func controlCharactersAreEscaped() {
        #expect(untrustedText("\u{1B}[31mEVIL\n\rkey") == "\\u{1B}[31mEVIL\\u{0A}\\u{0D}key")
        #expect(untrustedText("a\u{0}b\u{7F}c\u{85}d\u{9F}e") == "a\\u{00}b\\u{7F}c\\u{85}d\\u{9F}e")
        #expect(untrustedText("\u{1B}]0;title\u{07}") == "\\u{1B}]0;title\\u{07}")
    }

    @Test func bidiControlsAreEscaped() {
        let text = "a\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}b"
        #expect(untrustedText(text) == "a\\u{202A}\\u{202B}\\u{202C}\\u{202D}\\u{202E}\\u{2066}\\u{2067}\\u{2068}\\u{2069}b")
        // Neighbours of the ranges are ordinary characters.
        #expect(untrustedText("\u{2029}\u{202F}\u{2065}\u{206A}\u{A0}") == "\u{2029}\u{202F}\u{2065}\u{206A}\u{A0}")
    }

    @Test func longTextIsCutWithANote() {
        let long = String(repeating: "x", count: 1_000)
        #expect(untrustedText(long) == String(repeating: "x", count: 120) + "… (880 more characters)")
        #expect(untrustedText(long, limit: 10) == "xxxxxxxxxx… (990 more characters)")
        #expect(untrustedText("abcd", limit: 3) == "abc… (1 more character)")
        #expect(untrustedText("abc", limit: 3) == "abc")
        // The limit counts characters of the text, not of their escapes.
        #expect(untrustedText("\u{1B}\u{1B}\u{1B}", limit: 2) == "\\u{1B}\\u{1B}… (1 more character)")
        // A huge text gives a short message.
        let huge = "\u{1B}[2J" + String(repeating: "A", count: 20 << 20)
        #expect(untrustedText(huge).utf8.count < 200)
    }
}
