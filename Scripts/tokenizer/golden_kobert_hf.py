"""Golden ids for the `kobert-hf` pipeline: SKT's KoBERTTokenizer on transformers 4.x.

Run with transformers 4.57.6 (its Python `XLNetTokenizer`) and sentencepiece 0.2.3.

KoBERTTokenizer (package kobert_tokenizer in SKTBrain/KoBERT) subclasses XLNetTokenizer with:
do_lower_case=False, remove_space=True, keep_accents=False; [CLS]/[SEP]/[UNK]/[PAD]/[MASK] as the
special tokens ([MASK] with lstrip); padding on the right with token type 0; inputs `[CLS] X [SEP]`
and token types all 0. Its `_tokenize` repeats XLNetTokenizer's (sentencepiece over the whole
preprocessed text, then the digit+comma piece split) but never imports SPIECE_UNDERLINE, so the
original raises NameError whenever that split fires; the class below inherits XLNetTokenizer's own
`_tokenize`, which is what the original intends.
"""
from transformers import XLNetTokenizer
from transformers.tokenization_utils import AddedToken

from golden_common import ADVERSARIAL, DIGIT_COMMA, DIGIT_COMMA_MODEL, MODEL, write_cases, write_golden


class KoBERTStyleTokenizer(XLNetTokenizer):
    padding_side = "right"

    def __init__(self, vocab_file):
        super().__init__(
            vocab_file,
            do_lower_case=False, remove_space=True, keep_accents=False,
            bos_token="[CLS]", eos_token="[SEP]", unk_token="[UNK]", sep_token="[SEP]",
            pad_token="[PAD]", cls_token="[CLS]",
            mask_token=AddedToken("[MASK]", lstrip=True, rstrip=False),
        )
        self._pad_token_type_id = 0

    def build_inputs_with_special_tokens(self, token_ids_0, token_ids_1=None):
        assert token_ids_1 is None, "single sentences only"
        return [self.cls_token_id] + token_ids_0 + [self.sep_token_id]

    def create_token_type_ids_from_sequences(self, token_ids_0, token_ids_1=None):
        assert token_ids_1 is None, "single sentences only"
        return [0] * (len(token_ids_0) + 2)


def encoder(model):
    tokenizer = KoBERTStyleTokenizer(str(model))

    def encode(text, max_len):
        out = tokenizer(text, max_length=max_len, truncation=True, padding="max_length")
        return (tokenizer.tokenize(text), out["input_ids"], sum(out["attention_mask"]),
                out["token_type_ids"])
    return encode


def main():
    write_golden("kobert-hf", encoder(MODEL))
    write_cases("golden-kobert-hf-digit-comma.json", DIGIT_COMMA + ADVERSARIAL, encoder(DIGIT_COMMA_MODEL))
    print(f"kobert-hf with digit-comma.model: {len(DIGIT_COMMA + ADVERSARIAL)} cases")


if __name__ == "__main__":
    main()
