from . import op


@op("grade_pairs")
def grade_pairs(content: dict, state) -> dict:
    """The world's grader over a file of pairs; the labels file, when asked for, gets one line per pair."""
    from ..world.grading import grade_files

    return grade_files(content["truth_file"], content["pairs_file"], content.get("labels_file"))
