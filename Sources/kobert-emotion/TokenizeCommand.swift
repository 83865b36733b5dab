import ArgumentParser
import EmotionClassifier
import Foundation
import SentencePiece

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what the model sees of each sentence: pieces and ids, [CLS] and [SEP] included, truncated to the model's max length, unpadded.",
        discussion: """
            Reads sentences from the arguments, or one per line from standard input. A sentence with more pieces \
            than fit is cut as training and prediction cut it (the first max length - 2 pieces), and a note on \
            standard error says so.
            """)

    @Option(name: .long, help: "Model directory (or Hub repository owner/name[@revision]) whose spiece.model to use. Default: the last model trained, else the built-in SentencePiece model.")
    var model: String?

    @Option(name: .long, help: "Token pipeline: gluonnlp or kobert-hf. Default: the model's, else gluonnlp.")
    var pipeline: TokenPipeline?

    @Option(name: .long, help: "Maximum tokens per sentence, [CLS] and [SEP] included. Default: the model's max_len, else 64.")
    var maxLen: Int?

    @Flag(name: .long, help: "One JSON object per sentence: text, pieces, ids, truncated.")
    var json = false

    func validate() throws {
        if let maxLen, !(2...4096).contains(maxLen) { throw ValidationError("--max-len must be in 2...4096") }
    }

    @Argument(help: "Sentences to tokenize.")
    var sentences: [String] = []

    func run() throws {
        let (tokenizer, modelMaxLength) = try makeTokenizer()
        let maxLength = maxLen ?? modelMaxLength
        var arguments = sentences.makeIterator()
        func next() throws -> String? { sentences.isEmpty ? try StandardInput.readLine() : arguments.next() }
        var n = 0
        while let text = try next() {
            n += 1
            let (tokens, truncated, pieceCount) = tokenizer.tokenize(text, maxLength: maxLength)
            if json {
                print(try jsonLine(["text": text, "pieces": tokens.map(\.piece), "ids": tokens.map(\.id), "truncated": truncated]))
            } else {
                print(tokens.map(\.piece).joined(separator: " ") + "\t" + tokens.map { String($0.id) }.joined(separator: " "))
            }
            if truncated {
                printError("note: sentence \(n) has \(pieceCount) pieces; the model sees the first \(maxLength - 2) (max length \(maxLength))")
            }
        }
    }

    private func makeTokenizer() throws -> (KoBERTTokenizer, Int) {
        let dir = try model.map { try resolveModelArgument($0) } ?? LastModel.read()
        if let dir {
            return try EmotionModel.loadTokenizer(directory: dir, pipeline: pipeline)
        }
        return (try KoBERTTokenizer(model: try SentencePieceModel(contentsOf: SentencePieceModel.builtInEmotionDialogue),
                                    pipeline: pipeline ?? .gluonnlp), 64)
    }
}
