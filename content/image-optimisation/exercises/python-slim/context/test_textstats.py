from textstats import analyse


def test_counts_words_and_sentences():
    result = analyse("The cache is warm. The build is fast! Is it?")
    assert result["words"] == 10
    assert result["sentences"] == 3
    assert result["unique_words"] == 7
    assert result["top_words"][0] == {"word": "cache", "count": 1}


def test_empty_text():
    assert analyse("")["words"] == 0
    assert analyse("")["reading_time_seconds"] == 0
