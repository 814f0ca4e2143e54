"""Self-supervised pretraining of the demo backbone: HuBERT iteration 1 (MFCC k-means targets, span masks, the
masked-prediction head) and the recipe's run (audio -> targets -> Trainer -> a from_pretrained backbone)."""
