import ArgumentParser
import EmotionClassifier
import Foundation
import SentencePiece

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what sentences become: pieces and ids, [CLS] and [SEP] included, unpadded.",
        discussion: "Reads sentences from the arguments, or one per line from standard input.")

    @Option(name: .long, help: "Model directory whose spiece.model to use. Default: the last model trained, else the built-in SentencePiece model.")
    var model: String?

    @Option(name: .long, help: "Token pipeline: gluonnlp or kobert-hf. Default: the model's, else gluonnlp.")
    var pipeline: TokenPipeline?

    @Flag(name: .long, help: "One JSON object per sentence: text, pieces, ids.")
    var json = false

    @Argument(help: "Sentences to tokenize.")
    var sentences: [String] = []

    func run() throws {
        let tokenizer = try makeTokenizer()
        var arguments = sentences.makeIterator()
        func next() throws -> String? { sentences.isEmpty ? try StandardInput.readLine() : arguments.next() }
        while let text = try next() {
            let tokens = tokenizer.tokenize(text)
            if json {
                print(try jsonLine(["text": text, "pieces": tokens.map(\.piece), "ids": tokens.map(\.id)]))
            } else {
                print(tokens.map(\.piece).joined(separator: " ") + "\t" + tokens.map { String($0.id) }.joined(separator: " "))
            }
        }
    }

    private func makeTokenizer() throws -> KoBERTTokenizer {
        let dir = model.map { URL(fileURLWithPath: $0) } ?? LastModel.read()
        if let dir {
            return try EmotionModel.loadTokenizer(directory: dir, pipeline: pipeline)
        }
        return try KoBERTTokenizer(model: try SentencePieceModel(contentsOf: SentencePieceModel.builtInEmotionDialogue),
                               pipeline: pipeline ?? .gluonnlp)
    }
}
