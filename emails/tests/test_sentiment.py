"""emails.sentiment: new-text extraction, scoring rules, mapping, settings.

No database: pure functions, and pytest-django's ``settings`` fixture.
"""
from __future__ import annotations

import pytest

from emails import sentiment
from emails.sentiment import (
    EmailScorer,
    Scorer,
    VaderScorer,
    emoticon_for,
    get_scorer,
    label_for,
    new_text,
    score_email,
)

HAPPY_REPLY_TO_ANGRY_THREAD = """Hi Priya,

Thank you so much for the quick fix, everything works perfectly now. Your team was great.

Cheers,
Tom

On Mon, Mar 10, 2025 at 11:47 PM Tom Baker <tom@harborfoods.example> wrote:
> This is a disaster. The system has been down for three hours, we lost orders and
> our customers are furious. I am extremely disappointed and angry. Terrible, awful service.
> Tom
"""

COMPLAINT_WITH_WARM_SIGNATURE = """Dear Ms. Smith,

The export is broken again and we lost a day of work. This is unacceptable.

Best regards and warmest wishes,
Helen Parker
Head of Happiness | Sunny Smiles Ltd
"Love what you do, do what you love!"
"""

OUTLOOK_REPLY = """Payment was made today by bank transfer.

Regards,
Accounts Payable

-----Original Message-----
From: Karen Lee <karen@touchpoints.example>
Sent: Tuesday, March 11, 2025 9:00 AM
To: AP <ap@acme.example>
Subject: Invoice overdue

Unfortunately your invoice is now 30 days overdue.
"""

OUTLOOK_HEADER_ONLY = """Tuesday at 11 works for me.

From: Amara Russo <amara@touchpoints.example>
Sent: Thursday, March 13, 2025 4:02 PM
To: Jonas Berg <jonas@polar.example>
Subject: Call next week

Would Tuesday or Wednesday work? We'd love to catch up, it's been wonderful!
"""


class ConstantScorer:
    """A stand-in for a plugged-in model."""

    def score(self, text: str) -> float:
        return -0.9


@pytest.fixture(autouse=True)
def fresh_scorer_cache():
    sentiment._scorer_for.cache_clear()
    yield
    sentiment._scorer_for.cache_clear()


# --- new_text -----------------------------------------------------------------------------


def test_quoted_angry_history_does_not_make_a_happy_reply_negative():
    # Plain VADER on the whole body is fooled by the quoted history...
    assert VaderScorer().score(HAPPY_REPLY_TO_ANGRY_THREAD) < 0
    # ...the new text alone is the happy reply.
    score, emoticon = score_email("Re: Outage last night", HAPPY_REPLY_TO_ANGRY_THREAD, EmailScorer())
    assert label_for(score) == "positive"
    assert emoticon >= 4
    assert "disaster" not in new_text(HAPPY_REPLY_TO_ANGRY_THREAD)


def test_best_regards_signature_does_not_make_a_complaint_neutral_or_positive():
    text = new_text(COMPLAINT_WITH_WARM_SIGNATURE)
    assert text == "The export is broken again and we lost a day of work. This is unacceptable."
    score, emoticon = score_email("Export", COMPLAINT_WITH_WARM_SIGNATURE, EmailScorer())
    assert label_for(score) == "negative"
    assert emoticon <= 2


def test_outlook_original_message_and_header_block_are_stripped():
    assert new_text(OUTLOOK_REPLY) == "Payment was made today by bank transfer."
    assert new_text(OUTLOOK_HEADER_ONLY) == "Tuesday at 11 works for me."


def test_outlook_underscore_separator_is_stripped():
    body = "Works now.\n\n________________________________\nFrom: Support\nSent: Friday\nSubject: RE: ticket\n\nSorry!"
    assert new_text(body) == "Works now."


def test_rfc3676_signature_is_stripped():
    body = "The new dashboard is great.\n\n-- \nAmara Russo\nCustomer Success | Touchpoints\nI hate Mondays\n"
    assert new_text(body) == "The new dashboard is great."
    # Clients that trim trailing spaces send "--" alone.
    assert new_text("All good here.\n--\nBob\n") == "All good here."


@pytest.mark.parametrize(
    "header",
    [
        "On Mon, Mar 10, 2025 at 9:30 AM Michael Ross <michael@touchpoints.example> wrote:",
        "On Mon, Mar 10, 2025 at 9:30 AM Michael Ross <michael@touchpoints.example>\nwrote:",
        "Am 11.03.2025 um 14:20 schrieb Michael Ross <michael@touchpoints.example>:",
        "Le ven. 14 mars 2025 à 10:12, Claire Martin <claire@touchpoints.example>\na écrit :",
        "El lun, 10 mar 2025 a las 12:05, Lucia Gomez (<lucia@touchpoints.example>) escribió:",
        "Op ma 10 mrt. 2025 om 09:14 schreef Mike Adams <mike@touchpoints.example>:",
        "W dniu 12.03.2025 o 16:40, Omar Haddad <omar@touchpoints.example> pisze:",
        "---------- Forwarded message ---------",
        "Begin forwarded message:",
    ],
)
def test_reply_headers_in_several_languages_start_the_history(header):
    body = f"Looks fine to me.\n\n{header}\nThis is terrible, I am furious.\n"
    assert new_text(body) == "Looks fine to me."


def test_greetings_are_stripped():
    assert new_text("Hi Bob,\n\nThe contract is signed.") == "The contract is signed."
    assert new_text("Dear Ms. Smith,\nThe contract is signed.") == "The contract is signed."
    assert new_text("Hello team,\n\nThe contract is signed.") == "The contract is signed."
    assert new_text("Hi Bob, the contract is signed.") == "the contract is signed."
    assert new_text("Hey, this is broken again.") == "this is broken again."
    # Not greetings: sentences that start with a greeting word.
    assert new_text("Morning meetings are a waste of time.") == "Morning meetings are a waste of time."
    assert new_text("Hello Kitty mugs are sold out.\nWe need more.") == "Hello Kitty mugs are sold out.\nWe need more."


def test_a_thanks_that_opens_a_complaint_is_not_a_sign_off():
    body = "Thanks, but the export is still broken and nobody answers my tickets.\nWe are losing customers.\n\nBest,\nAnna"
    assert new_text(body) == "Thanks, but the export is still broken and nobody answers my tickets.\nWe are losing customers."
    assert label_for(EmailScorer().score(body)) == "negative"


def test_a_bullet_list_is_not_a_signature():
    body = "Steps so far:\n- restarted the server\n- cleared the cache\nStill failing.\n\nCheers\nTom"
    assert new_text(body) == "Steps so far:\n- restarted the server\n- cleared the cache\nStill failing."


def test_disclaimer_and_mobile_footer_are_stripped():
    body = (
        "Please add Lena to our account.\n\nBest regards,\nTanja\n\n"
        "CONFIDENTIALITY NOTICE: This e-mail is confidential. If you are not the intended recipient, "
        "any unauthorized use is strictly prohibited; destroy all copies."
    )
    assert new_text(body) == "Please add Lena to our account."
    assert new_text("Can we move the demo?\n\nSent from my iPhone\n\n> On 12 Mar, X wrote:\n> bad") == "Can we move the demo?"


def test_external_sender_banner_on_top_is_stripped():
    body = (
        "CAUTION: This email originated from outside of the organization. Do not click links or open\n"
        "attachments unless you recognize the sender and know the content is safe.\n\n"
        "The invoice is attached.\n\nRegards,\nPaul"
    )
    assert new_text(body) == "The invoice is attached."


def test_sentences_split_on_punctuation_and_lines_but_not_inside_numbers():
    from emails.sentiment import split_sentences

    text = "Version 3.5 is out! Is it stable?\nThe export works and\nthe import too."
    assert split_sentences(text) == ["Version 3.5 is out!", "Is it stable?", "The export works and the import too."]


def test_falls_back_to_the_unstripped_text_when_stripping_leaves_nothing():
    assert new_text("Thanks!\nLeo") == "Thanks!\nLeo"
    assert label_for(EmailScorer().score("Thanks!\nLeo")) != "negative"


def test_a_bare_forward_has_no_new_text_and_is_neutral():
    body = "---------- Forwarded message ---------\nFrom: Legal\nDate: Monday\n\nThe vendor is terrible."
    assert new_text(body) == ""
    assert score_email("Fwd: Contract", body, EmailScorer()) == (0.0, 3)


def test_inline_replies_keep_the_unquoted_lines():
    body = "> Is the invoice right?\nNo, it is wrong again.\n> Anything else?\nThe app is slow."
    assert new_text(body) == "No, it is wrong again.\nThe app is slow."


def test_new_text_is_idempotent():
    for body in (HAPPY_REPLY_TO_ANGRY_THREAD, COMPLAINT_WITH_WARM_SIGNATURE, OUTLOOK_REPLY, OUTLOOK_HEADER_ONLY):
        once = new_text(body)
        assert new_text(once) == once


# --- scoring ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   \n\n", "> only quoted\n> text"])
def test_empty_body_is_neutral(body):
    assert score_email("", body) == (0.0, 3)
    assert score_email("Re: Great news!", body)[1] == 3


def test_polite_business_email_is_neutral():
    body = (
        "Hi Karen,\n\nPlease find attached the signed contract. Feel free to reach out if you have any questions.\n"
        "Have a great weekend!\n\nKind regards,\nDavid"
    )
    assert VaderScorer().score(body) > 0.5  # what plain VADER makes of politeness
    assert label_for(EmailScorer().score(body)) == "neutral"


def test_doesnt_work_is_negative():
    assert label_for(EmailScorer().score("Still doesn't work. The Export button is greyed out.")) == "negative"


def test_reply_subject_is_ignored_and_fresh_subject_counts_a_little():
    body = "The contract is attached."
    assert score_email("Re: Wonderful, fantastic news!", body, EmailScorer())[0] == 0.0
    assert score_email("Wonderful, fantastic news!", body, EmailScorer())[0] > 0


def test_vader_analyzer_is_built_once_and_reused():
    scorer = VaderScorer()
    scorer.score("good")
    analyzer = scorer.analyzer
    scorer.score("bad")
    assert scorer.analyzer is analyzer


def test_email_lexicon_does_not_change_plain_vader():
    assert VaderScorer().score("please") > 0
    assert EmailScorer().score("please") == 0.0


def test_scores_stay_in_range():
    angry = "Terrible! Awful! Horrible! I hate it! Worst service ever!!! " * 20
    for text in (angry, angry.replace("hate", "love").replace("Terrible", "Great")):
        assert -1.0 <= EmailScorer().score(text) <= 1.0


# --- mapping ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "emoticon"),
    [
        (-1.0, 1),
        (-sentiment.STRONG_THRESHOLD, 1),
        (-sentiment.STRONG_THRESHOLD + 0.01, 2),
        (-sentiment.NEUTRAL_THRESHOLD - 0.01, 2),
        (-sentiment.NEUTRAL_THRESHOLD, 3),
        (0.0, 3),
        (sentiment.NEUTRAL_THRESHOLD, 3),
        (sentiment.NEUTRAL_THRESHOLD + 0.01, 4),
        (sentiment.STRONG_THRESHOLD - 0.01, 4),
        (sentiment.STRONG_THRESHOLD, 5),
        (1.0, 5),
        (float("nan"), 3),
    ],
)
def test_emoticon_boundaries(score, emoticon):
    assert emoticon_for(score) == emoticon


def test_thresholds_are_in_the_documented_ranges():
    assert 0.05 <= sentiment.NEUTRAL_THRESHOLD <= 0.2
    assert sentiment.NEUTRAL_THRESHOLD < sentiment.STRONG_THRESHOLD < 1


def test_labels():
    assert label_for(-0.5) == "negative"
    assert label_for(0.0) == "neutral"
    assert label_for(0.5) == "positive"


# --- configuration ------------------------------------------------------------------------


def test_get_scorer_defaults_to_email_scorer_and_caches_it(settings):
    settings.SENTIMENT_SCORER = "emails.sentiment.EmailScorer"
    scorer = get_scorer()
    assert isinstance(scorer, EmailScorer)
    assert isinstance(scorer, Scorer)
    assert get_scorer() is scorer


def test_get_scorer_honours_the_setting(settings):
    settings.SENTIMENT_SCORER = "emails.tests.test_sentiment.ConstantScorer"
    assert isinstance(get_scorer(), ConstantScorer)
    score, emoticon = score_email("Hello", "Everything is wonderful, thank you!")
    assert score == pytest.approx(-0.9)
    assert emoticon == 1


def test_get_scorer_rejects_a_class_without_score(settings):
    settings.SENTIMENT_SCORER = "collections.OrderedDict"
    with pytest.raises(TypeError):
        get_scorer()
