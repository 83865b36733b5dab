import EmotionClassifier
print("kobert-emotion")
