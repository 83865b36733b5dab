"""Golden ids for the `gluonnlp` pipeline (the seed workflow's), from gluonnlp 0.10.0 itself.

    BERTSPTokenizer(model, vocab, lower=False) + BERTSentenceTransform(max_len, pad=True, pair=False)
    with vocab = BERTVocab.from_sentencepiece(model, padding_token="[PAD]") as KoBERT builds it.

Environment: Python 3.11, numpy 1.23.5, mxnet 1.9.1, cython, packaging, wheel, then
`pip install --no-deps --no-build-isolation gluonnlp==0.10.0`, and sentencepiece 0.2.3.

gluonnlp calls `SampleEncodeAsPieces(text, 0, 1.0)`. sentencepiece <= 0.1.91 treated nbest_size 0
as "no sampling" (= EncodeAsPieces); >= 0.1.92 rejects it. This script therefore replaces that one
call with `EncodeAsPieces`, which is what gluonnlp got with the sentencepiece of its time.
"""
import gluonnlp as nlp

from golden_common import MODEL, write_golden


def _encode_as_pieces(self, sample):
    return self._processor.EncodeAsPieces(sample)


nlp.data.SentencepieceTokenizer.__call__ = _encode_as_pieces


def main():
    vocab = nlp.vocab.BERTVocab.from_sentencepiece(str(MODEL), padding_token="[PAD]")
    tokenizer = nlp.data.BERTSPTokenizer(str(MODEL), vocab, lower=False)
    transforms = {}

    def encode(text, max_len):
        if max_len not in transforms:
            transforms[max_len] = nlp.data.BERTSentenceTransform(
                tokenizer, max_seq_length=max_len, vocab=vocab, pad=True, pair=False)
        ids, valid, segments = transforms[max_len]([text])
        return tokenizer(text), ids.tolist(), int(valid), segments.tolist()

    write_golden("gluonnlp", encode)


if __name__ == "__main__":
    main()
