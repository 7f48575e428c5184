"""Prompt-injection detectors, by attack family, scored (no model call, a few milliseconds).

Each signal is a pattern with a weight; a question is blocked when the weights of the distinct
signals that fire, in any reading of it (see ``normalize``), reach 1.0. Strong signals block alone
(an instruction override, a request for the system prompt); weak ones (role-play, hypotheticals,
"no rules") only together, so the developer questions that merely mention prompts, roles or
instructions pass. Patterns are written for the normalised, lower-case text; Latin ones without
accents, as the folded reading has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from llm_gateway.core.guardrails.learned import word_model
from llm_gateway.core.guardrails.normalize import ciphered, normal, readings

BLOCK_AT = 1.0
LEARNED = "learned"  # the family of the word model's signal (guardrails/learned.py)
_ = r"\W*"  # between the words of a phrase: spaces, punctuation, or nothing (letters rejoined)

# Reused vocabulary (English).
# God mode, admin rights in a game are its cheats (a lookahead, at the start of a pattern).
NOT_A_GAME = (r"(?![^.?!]{0,80}\b(?:game|games|gaming|skyrim|minecraft|fallout|gta|doom|roblox|fortnite|terraria|sims|"
              r"steam|cheats?|console commands?)\b)")
OVERRIDE_VERB = (r"(?:ignore|disregard|forget|skip|override|overrule|bypass|neglect|abandon|discard|scratch|ditch|"
                 r"dismiss|toss|nullify|cancel|revoke|void|put aside|"
                 r"set aside|throw away|pay no attention to|do not follow|don'?t follow|stop following|"
                 r"no longer follow|drop|erase|delete|clear|reset|wipe)")
EARLIER = (r"(?:(?:all|any|every|each|the|these|those|of)\W+)*(?:previous|prior|above|earlier|preceding|former|"
           r"original|initial|old|existing|your|system|developer|safety|pre-?set|given|hidden|built-?in|"
           r"these|those)")
ORDERS = (r"(?:instructions?|prompts?|directives?|guidelines|rules|commands|orders|programming|constraints|"
          r"restrictions|guardrails|polic(?:y|ies)|training|system message|conditioning|filters|"
          r"limitations|safeguards|rule|instruction|guidance|directions|setup|configuration)")
# The user's own earlier settings ("ignore the previous configuration I set up"), not the model's.
MINE = (r"(?!\W+(?:that\W+|which\W+)?(?:i|we)\W+(?:\w+\W+)?(?:set|made|created|configured|wrote|used|had|added|saved|"
        r"entered|typed|chose|picked|installed|defined|tried|applied)\b)")
# What a question would call the model's own setup, however it is qualified.
SETUP_NOUN = (r"(?:instructions|rules|guidelines|guidance|directives|directions|constraints|restrictions|safeguards|"
              r"guardrails|filters|programming|polic(?:y|ies)|limitations|setup|configuration)")
# Who set it up.
MAKERS = (r"(?:developers?|creators?|makers?|owners?|operators?|company|admins?|administrators?|trainers?|"
          r"programmers?|provider)")
REVEAL_VERB = (r"(?:reveal|print|show|display|output|repeat|recite|echo|tell|give|share|expose|leak|dump|"
               r"list|write(?: out| down)?|copy|paste|spell out|quote|return|provide|disclose|state|"
               r"summari[sz]e|translate|encode|convert|put|type out|read back|reads? (?:out(?: loud)?|aloud)|reproduce|"
               r"render|send|emit|rewrite|rephrase|paraphrase|restate|reformat|turn|say|describe|outline|detail|precede|prefix)")
REVEAL_BASE = rf"(?:{REVEAL_VERB}|what (?:is|are|was|were)|what'?s)"
REVEALS = rf"{REVEAL_VERB}(?:s|es|ed|ing)?"  # "the assistant reveals your ...", "a character recites the ..."
REVEAL = rf"(?:{REVEALS}|what (?:is|are|was|were)|what'?s)"
# Of something else: "the original instructions *in the* manual", "*for assembling* the bookcase",
# "*for my* thesis" (but "in your prompt", "of this conversation" are the model's own).
OF_ANOTHER = (r"(?!\W+(?:(?:in|of|for|on)\W+(?:the|an?|his|her|their|my|our|\d+)\W|"
              r"(?:for|on|about)\W+\w+ing\b))")
# "Above" a thing in a file or a page, not above this message ("everything above a certain line").
ELSEWHERE = (r"(?!\W+(?:an?|the)\W+(?:(?:certain|specific|given|particular|first|last|next)\W+)?(?:line|row|cell|column|"
             r"index|character|position|marker|heading|header|section|paragraph|word|pattern|match|string|threshold|"
             r"value|level|limit|fold)s?\b)")
# What the assistant was told, addressed as its own ("your instructions", "the text above").
SECRET_SETUP = (r"(?:your\W+(?:initiali[sz]ation|startup|boot(?:strap)?|launch)\W+(?:text|prompt|message|instructions|string|"
                r"parameters|config(?:uration)?)\b|your\W+(?:(?:full|complete|exact|entire|original|initial|hidden|secret|internal|real|"
                r"actual|verbatim|first|pre-?|underlying|current|system|developer|own|raw)\W+)*(?:system\W*prompt|"
                r"system\W*message|instructions?|prompt|pre-?prompt|rules|guidelines|directives|configuration|"
                r"config|context window|programming|setup|guardrails|constraints|hidden\W*rules|"
                r"secret\W*instructions)|(?:all|the)\W+(?:\w+\W+)?(?:internal|hidden|secret|confidential|"
                rf"initial|original)\W+(?:instructions|prompts?|rules|configuration|settings|preamble)\b{OF_ANOTHER}|"
                r"(?:the )?(?:text|words|content|messages?|instructions?|lines?)\W+"
                r"(?:above|before|preceding|prior)|everything (?:above|before|you were told|you have been told)"
                rf"{ELSEWHERE}|"
                r"what (?:was|is|were) (?:written|said|stated|typed) (?:above|before|earlier)|how you (?:were|have been) "
                r"(?:configured|instructed|programmed|set up|prompted)|what you (?:were|have been) (?:instructed|told|programmed|"
                r"given)|(?:the\W+)?(?:\w+\W+)?(?:directions|instructions|rules|guidelines|orders|prompt|text|preamble)\W+"
                r"(?:that\W+)?(?:your|the)\W+(?:developers?|creators?|makers?|owners?|operators?|company|admins?|administrators?|"
                r"programmers?|provider)\W+(?:gave|wrote|set|provided|told|sent)\W+you|(?:the\W+)?(?:parts?|portion|section|bits?)\W+"
                r"of\W+your\W+(?:\w+\W+)?(?:context|prompt|instructions|input|conversation|memory)|(?:the\W+)?(?:\w+\W+)?(?:preamble|"
                r"prompt|instructions|text|message|context)\W+(?:that\W+)?you\W+(?:were|have been)\W+(?:initiali[sz]ed|"
                r"configured|set up|started|primed|seeded|loaded|booted)\W+with|(?:the\W+)?(?:\w+\W+)?(?:prompt|instructions|text|message)\W+"
                r"(?:that\W+(?:was|were)\W+)?used\W+to\W+(?:set\W+you\W+up|configure\W+you|create\W+you|initiali[sz]e\W+you|"
                r"program\W+you|instruct\W+you|prompt\W+you)|(?:the\W+|every\W+|each\W+|all\W+(?:the\W+)?)?"
                r"(?:\w+\W+)?(?:instructions?|rules?|guidelines?|directives?|orders|secrets?|text|prompt|polic(?:y|ies)|"
                r"constraints?|words)\W+(?:that\W+)?(?:you|it)(?:'re|'ve)?\W+(?:(?:were|was|have been|has been|had been|are|"
                r"'ve been)\W+(?:given|told|provided|shown|handed|sent|trained with)|got|received|are operating under|(?:are\W+)?operating with|"
                r"operating under|operate under|are bound by|work under|(?:follow|obey|abide by|are following)"
                r"(?!\W+(?:when|while|for|in|to|as)\b))|(?:the|this)\W+(?:hidden|secret|original|"
                rf"initial|confidential)\W+(?:prompt|instructions|rules)\b{OF_ANOTHER})")
# The same asked of "the system prompt": an attack, or a developer asking about their own app.
PROMPT_NAME = r"(?:system\W*prompt|system\W*message|pre-?prompt|meta\W*prompt|developer\W*(?:message|prompt|instructions))"
SYSTEM_PROMPT = rf"(?:(?:the|this|that|its)\W+(?:\w+\W+)?)?{PROMPT_NAME}"


@dataclass(frozen=True)
class Signal:
    family: str
    name: str
    triggers: tuple[str, ...]  # one of these occurs wherever the pattern can match: a cheap gate
    weight: float
    source: str

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """Compiled when its triggers first occur: compiling them all took most of the gateway's init."""
        return re.compile(self.source)

    @cached_property
    def key(self) -> str:
        return f"{self.family}/{self.name}"

    @property
    def hard(self) -> bool:
        """Blocks whatever the framing: an attack in any words, not a topic a developer asks about."""
        return self.weight >= BLOCK_AT and self.name not in SOFT


# Strong signals that a developer question can still carry ("how do I enable developer mode").
SOFT = {"reveal_system_prompt", "reveal_its_setup", "mode_on", "mode_intl", "chat_markup", "dan_named", "wrapper_template",
        "raw_prompt"}


def _signals(family: str, *rules: tuple[str, str, float, str]) -> list[Signal]:
    return [Signal(family, name, tuple(t.replace("_", " ") for t in triggers.split()), weight, pattern)
            for name, triggers, weight, pattern in rules]


SIGNALS: list[Signal] = [
    *_signals(
        "instruction_override",
        ("override_earlier", "ignor disregard forget skip overrid overrul bypass neglect abandon discard aside throw attention follow drop erase delete clear reset wipe", 1.0, rf"\b{OVERRIDE_VERB}\W+(?:\w+\W+){{0,3}}?{EARLIER}{_}(?:\w+\W+){{0,2}}?{ORDERS}{MINE}"),
        ("override_all", "ignor disregard forget skip overrid overrul bypass neglect abandon discard scratch ditch dismiss toss nullify cancel revoke void aside throw attention follow drop erase delete clear reset wipe", 1.0,
         rf"\b{OVERRIDE_VERB}\W+(?:all|any|every|each)\W+(?:of\W+)?(?:the\W+|your\W+|these\W+|those\W+)?(?:\w+\W+)?"
         rf"{SETUP_NOUN}"),
        ("override_the", "ignor disregard forget skip overrid overrul bypass neglect abandon discard scratch ditch dismiss toss nullify cancel revoke void aside throw attention drop erase wipe", 0.8,
         rf"\b{OVERRIDE_VERB}\W+(?:the|these|those)\W+(?:\w+\W+)?(?:instructions|rules|guidelines|guidance|directives|"
         r"restrictions|safeguards|guardrails|filters|programming|polic(?:y|ies))\b"),
        ("override_yours", "ignor disregard forget skip overrid bypass neglect abandon discard scratch ditch dismiss toss drop erase wipe", 1.0,
         rf"\b{OVERRIDE_VERB}\W+(?:whatever|the|any|all|every)\W+(?:\w+\W+)?{SETUP_NOUN}\W+(?:that\W+)?you\W+(?:had|have|"
         r"were given|got|received|are following|were told)|"
         rf"\b{OVERRIDE_VERB}\W+(?:\w+\W+){{0,3}}?{SETUP_NOUN}\W+(?:(?:that\W+)?(?:came\W+)?(?:from|by|of)\W+)"
         rf"(?:your|the)\W+{MAKERS}"),
        ("override_object", "ignor disregard forget skip overrid bypass neglect abandon discard scratch ditch dismiss toss drop erase wipe unlearn let_go get_rid throw", 1.0,
         rf"\b(?:{OVERRIDE_VERB}|unlearn|let go of|get rid of|throw out|leave behind)\W+(?:\w+\W+){{0,2}}?(?:what\W+you\W+"
         r"(?:were|have been|'ve been)\W+(?:programmed|told|trained|instructed|taught|asked|built|designed)\b|the\W+"
         r"(?:persona|character|role|identity|personality)\W+(?:that\W+)?you\W+(?:were|have been)\W+(?:given|assigned)|"
         r"your\W+(?:\w+\W+)?(?:persona|training|conditioning|alignment|principles|ethics|morals|moral code|"
         r"ethical (?:guidelines|principles|code)|safety (?:training|rules|guidelines|measures))\b)"),
        ("override_safety", "safety", 0.6,
         r"\b(?:ignore|disregard|bypass|skip|drop|forget|turn off|disable)\W+(?:all\W+|the\W+|your\W+)?safety\b"
         r"(?:\W+(?:stuff|rules|measures|guidelines|features|training|filters?|checks|settings))?"
         r"(?!\W+(?:when|while|if|in|on|at|for|of|glasses|goggles|gear)\b)"),
        ("override_above", "ignor disregard forget skip", 0.8,
         rf"\b{OVERRIDE_VERB}\W+(?:all\W+|everything\W+)?(?:of\W+)?(?:the\W+)?(?:above|previous|prior|preceding)\b"
         r"(?=\s*(?:$|[.,;:!]|and\b|then\b|&))"),  # nothing named: not "ignore the above example"
        ("then_say", "and_say then_say and_print then_print and_output then_output and_reply then_reply and_write then_write and_respond then_respond and_just and_only then_just then_only", 0.4,
         r"\b(?:and|then)\W+(?:just\W+|only\W+)?(?:say|print|output|reply|respond with|write)\W+[\"'“‘]"),
        ("fresh_start", "pretend imagine assume as_if", 1.0,
         r"\b(?:pretend|imagine|assume|act as if)\W+(?:\w+\W+){0,4}?(?:new|fresh|brand new|clean|first)\W+(?:conversation|chat|"
         r"session)\W+(?:where|in which|and)\W+you\W+(?:never|haven'?t|have not|didn'?t|did not|don'?t have)\W+(?:\w+\W+)?"
         r"(?:received|got|been given|had|any)\W+(?:\w+\W+)?(?:instructions|rules|guidelines|prompt|setup)"),
        ("replace_old", "replace supersede overrid take_precedence", 0.8,
         r"\b(?:replace|replaces|supersede|supersedes|override|overrides|take precedence over)\W+(?:the\W+|all\W+|your\W+)?"
         r"(?:old|previous|prior|earlier|original|existing|initial)\W+(?:ones|instructions|rules|guidelines|directions|"
         r"directives|prompt|setup)"),
        ("treat_as_void", "treat consider regard", 1.0,
         r"\b(?:treat|consider|regard)\W+(?:every|all|each|the|any)\W+(?:\w+\W+)?(?:earlier|previous|prior|above|"
         r"preceding|original|system)\W+(?:\w+\W+)?(?:messages?|instructions|rules|prompts?|guidelines|directives)\W+"
         r"as\W+(?:void|invalid|null|nonexistent|irrelevant|cancell?ed|deleted|obsolete|not binding|a joke|fake)"),
        ("forget_everything", "ignor forget disregard", 1.0, r"\b(?:ignore|forget|disregard)\W+(?:about\W+)?(?:everything|all)\W+(?:(?:that\W+)?you(?:'ve| have)?"
                                   r"\W+(?:(?:were|was|have been|had been|'ve been|got|are)\W+)?(?:been\W+)?(?:told|taught|learned|know|"
                                   r"given)|above|before|prior|previously|"
                                   r"that came before|said before)"),
        ("new_instructions", "new updated real true actual revised override fresh", 0.8, r"\b(?:new|updated|real|true|actual|revised|override|fresh)\W+(?:system\W+)?"
                                  r"(?:instructions?|rules?|directives?|directions|task|prompt|orders?|assignment|mission)"
                                  r"(?:\W+(?:from|by)\W+(?:your|the)\W+\w+)?\W*(?:are|is|follow|:|starts?|begins?|now)"),
        ("your_new_role", "your", 0.6, r"\byour\W+(?:new|real|true|only|sole|single)\W+(?:task|role|purpose|goal|job|mission|identity|instructions?|"
                               r"rules?|directive)"
                               r"\W+(?:is|will be|now)"),
        ("override_given", "ignor disregard forget skip overrid bypass discard drop", 1.0,
         rf"\b{OVERRIDE_VERB}\W+(?:the\W+|all\W+|any\W+)?{ORDERS}\W+(?:that\W+)?(?:you\W+(?:were|have been|got)\W+"
         r"given|your\W+(?:developers?|creators?|makers?|owners?|operators?)\W+(?:gave|set|wrote))"),
        ("ignore_policy", "ignor disregard forget skip overrid bypass discard drop", 1.0,
         rf"\b{OVERRIDE_VERB}s?\W+(?:the\W+|your\W+|all\W+|any\W+)?(?:openai|anthropic|content|usage|safety)\W*"
         r"(?:'s\W+)?(?:content\W+)?(?:polic(?:y|ies)|guidelines|rules|filters?)"),
        # Letters spaced apart and rejoined leave no spaces between the words either.
        ("squashed", "ignor disregard forget reveal print show repeat anything developermode", 1.0,
         r"(?:ignore|disregard|forget)(?:all|any|every)(?:the|your)?(?:instructions|rules|guidelines|restrictions|"
         r"filters)|(?:ignore|disregard|forget)(?:all|the|any|of)*(?:previous|prior|above|earlier|your|system)"
         r"(?:instructions|rules|prompts?|guidelines|directives)|(?:reveal|print|show|repeat|output)(?:me)?(?:all)?"
         r"your(?:system|initial|hidden)?(?:prompt|instructions|rules)|doanythingnow|developermode(?:enabled|on)"),
        ("earlier_void", "outdated obsolete void invalid cancel revoked no_longer mistake test joke fake wrong", 1.0,
         r"\b(?:instructions?|rules|guidelines|prompt|directives|orders)\W+(?:\w+\W+){0,2}?(?:are|were|is|was)\W+"
         r"(?:now\W+|all\W+)?(?:outdated|obsolete|void|invalid|cancell?ed|revoked|no longer (?:valid|apply|"
         r"applicable|in effect)|a (?:test|mistake|joke|trick)|fake|wrong)|\b(?:previous|prior|earlier|above|old|"
         r"original)\W+(?:instructions|rules|guidelines|prompt|directives)\W+(?:no longer|don'?t|do not)\W+"
         r"(?:apply|matter|count)"),
        ("setup_not_binding", "binding n't_apply not_apply longer_apply n't_exist not_exist longer_exist n't_count not_count longer_count n't_matter not_matter longer_matter proceed_as_if", 0.8,
         r"\b(?:instructions|rules|guidelines|guidance|prompt|directives|restrictions|polic(?:y|ies)|filters|constraints)"
         r"\b.{0,60}?\b(?:(?:is|are|were|was)\W+not\W+binding|non-?binding|(?:don'?t|doesn'?t|do not|does not|no longer)"
         r"\W+(?:apply|exist|count|matter)|proceed as if (?:they|it|there) (?:do not|don'?t|didn'?t|did not|were not|"
         r"weren'?t) (?:exist|apply|there))"),
        ("as_if_absent", "as_if", 0.5,
         r"\b(?:proceed|act|continue|behave|respond|answer|reply)\W+as if\W+(?:they|it|there (?:were|was) no|the rules|"
         r"your rules|you had no|no rules|nothing)"),
        ("whatever_told", "whatever everything anything", 1.0,
         r"\b(?:whatever|everything|anything|all)\W+(?:you\W+)?(?:were|was|'ve been|have been|had been)\W+"
         r"(?:\w+\W+)?(?:told|instructed|taught|programmed|given)\b.{0,60}\b(?:ignore|disregard|discard|forget|"
         r"drop|doesn'?t matter|no longer|(?:was|were|is)\W+(?:just\W+|only\W+)?(?:a|an)\W+(?:warm-?up|test|joke|"
         r"exercise|practice|drill|trick)|irrelevant)"),
        ("no_longer_you", "no_longer", 1.0,
         r"\byou\W+(?:are|'re)\W+(?:now\W+)?no longer\W+(?:an?\W+|the\W+|my\W+)?(?:\w+\W+){0,3}?(?:assistant|ai|"
         r"chatbot|model|bot|helper|bound|restricted)"),
        ("stop_being", "stop_being quit_being stop_acting quit_acting stop_playing quit_playing", 0.8,
         r"\b(?:stop|quit)\W+(?:being|acting as|playing)\W+(?:an?\W+|the\W+|my\W+|a\W+helpful\W+)?(?:\w+\W+)?(?:assistant|ai|"
         r"chatbot|model|bot|helper|safe|careful|polite|ethical)\b"),
        ("forget_being", "being", 0.5,
         r"\b(?:forget|stop|quit|drop)\W+being\W+(?:so\W+)?(?:helpful|harmless|safe|careful|ethical|polite|nice|responsible|"
         r"an? assistant)\b"),
        ("be_harmful", "harmful evil dangerous unethical malicious toxic", 0.5,
         r"\bbe\W+(?:\w+\W+){0,2}?(?:harmful|evil|dangerous|unethical|malicious|toxic)\b(?!\W+(?:to|for|if|when)\b)"),
        ("consequence_free", "consequence sandbox", 0.6,
         r"\bnothing\W+(?:you\W+(?:say|do|write)|here)\W+(?:has|have|will have|carries)\W+(?:any\W+|real\W+)?consequences|"
         r"\bno\W+(?:real\W+)?consequences\W+(?:for|to)\W+(?:you|what you say)|\b(?:you'?re|you are)\W+(?:now\W+)?(?:inside|in)\W+"
         r"(?:a\W+)?sandbox\b"),
        ("safety_removed", "removed stripped deleted disabled turned switched", 0.8,
         r"\b(?:with|having)\W+(?:all\W+)?(?:the\W+|its\W+|your\W+|their\W+)?(?:safety|ethic\w*|alignment|content)\W+(?:\w+\W+)?"
         r"(?:training|filters|rules|guidelines|guardrails|restrictions)\W+(?:removed|stripped|deleted|disabled|turned off|"
         r"switched off)"),
        ("answer_restricted", "including even", 0.6,
         r"\b(?:answer|respond to|reply to|fulfil+)\w*\W+(?:\w+\W+){0,3}?(?:including|even)\W+(?:the\W+)?(?:restricted|forbidden|"
         r"banned|harmful|dangerous|prohibited|off-limits|sensitive)\W+(?:ones|questions|topics|requests)"),
        ("new_policy", "effective in_effect take takes apply applies comply", 0.5,
         r"\bnew\W+(?:\w+\W+)?(?:policy|rules?|guidelines?|directive)\W+(?:\w+\W+){0,3}?(?:effective\W+immediately|now in effect|"
         r"takes? effect|applies? (?:now|immediately))|\bcomply\W+with\W+(?:the|this|my)\W+new\W+(?:policy|rules?|guidelines?|"
         r"directive)"),
        ("rules_not_applied", "not_appl not_enforced not_active not_in_effect", 0.8,
         r"\b(?:content|safety|usage|moderation)\W+(?:rules|polic(?:y|ies)|filters?|guidelines)\W+(?:are|is|do|does)\W+not\W+"
         r"(?:appl(?:y|ied)|enforced|active|in effect)"),
        ("no_longer_bound", "no_longer not_bound not_restricted not_limited not_constrained not_governed not_required", 1.0, r"\byou\W+(?:are|'re)\W+(?:now\W+)?(?:no longer|not)\W+(?:bound|restricted|limited|"
                                 r"constrained|governed|required)\W+(?:by|to)"),
        ("disable_safety", "disabl deactivat turn_off switch_off remov lift suspend bypass circumvent overrid", 1.0, r"\b(?:disable|deactivate|turn off|switch off|remove|lift|suspend|bypass|"
                                r"circumvent|override)\W+(?:all\W+|your\W+|the\W+|any\W+)*(?:safety|content|"
                                r"ethical|moral)?\W*(?:filters?|guardrails?|safeguards?|restrictions|protections|"
                                r"safety\W+(?:checks|filters?|mechanisms)|"
                                r"safety\W+(?:rules|protocols?|measures|guidelines|features|settings))"),
        ("safety_offline", "safety filter moderation guardrail", 0.8,
         r"\b(?:safety|content|moderation|guardrail|filter(?:ing)?)\W+(?:layer|filters?|system|module|checks?|mechanisms?|"
         r"protocols?|features?)?\W*(?:is|are|has been|have been)?\W*(?:now\W+|currently\W+|temporarily\W+)?(?:offline|"
         r"disabled|down|switched off|turned off|deactivated|suspended|paused|deprecated|retired|removed)\b"),
        ("code_off", "safety guardrail filter moderation censor alignment restriction", 1.0,
         r"\b(?:disable|deactivate|turn_?off|switch_?off|bypass|kill)[_\-.]?(?:safety|guardrails?|filters?|"
         r"moderation|content_?filters?|censorship|alignment|restrictions)(?:_?checks?)?\b(?!\W+(?:settings?|in|on)\b)|"
         r"\b(?:safety|guardrails?|moderation|censorship|alignment|content_?filter)[_.](?:off|disabled?|false|bypass)\b|"
         r"--no-?(?:safety|guardrails?|filters?|moderation|censorship)\b"),
        ("config_off", "= :", 1.0,
         r"\ballow_?all(?:_?\w+)?\s*[=:]\s*(?:true|1|yes|on)\b|"
         r"\b(?:content_?filter(?:ing)?|safety(?:_?(?:mode|filter|checks?|level))?|moderation|guardrails?|censorship|restrictions|"
         r"filters?|alignment)\s*[=:]\s*(?:false|off|0|none|disabled|no|null)\b|\b(?:persona|mode)\s*[=:]\s*['\"]?"
         r"(?:unbounded|unrestricted|unfiltered|uncensored|evil|jailbroken|jailbreak|dan|god|developer|no_?limits)\b"),
        ("safety_erased", "never_happened deleted removed switched turned disabled gone lifted suspended erased", 1.0,
         r"\b(?:as (?:though|if)|imagine|pretend|suppose|assume|what if)\W+(?:\w+\W+){0,6}?(?:safety|ethic\w*|moral\w*|"
         r"content|usage|alignment)\W+(?:\w+\W+)?(?:training|polic(?:y|ies)|guidelines|subroutines|filters|rules|modules?|"
         r"constraints|programming|settings)\W+(?:\w+\W+){0,2}?(?:never (?:happened|existed)|(?:had been|have been|were|"
         r"was|are|is)\W+(?:\w+\W+)?(?:deleted|removed|switched off|turned off|disabled|gone|lifted|suspended|erased))"),
        ("lawless_world", "world universe", 0.4,
         r"\b(?:world|universe|society|place)\W+(?:without|with no|where there are no)\W+(?:any\W+)?(?:laws|rules|"
         r"consequences|ethics|morals|restrictions)"),
        ("opposite_of_safe", "opposite", 0.8,
         r"\bopposite\W+of\W+(?:an?\W+|the\W+)?(?:safe|helpful|ethical|harmless|responsible|aligned|good)\b"),
        ("invented_mode", "mode", 0.5,
         r"\b(?:enter|activate|enable|switch to|turn on|unlock|go into)\W+(?:the\W+)?['\"“‘]\w+(?:\W\w+)?['\"”’]?\W*mode\b"),
        ("from_now_on", "from_now from_this starting_now rest_of", 0.5, r"\b(?:from now on|from this (?:point|moment) (?:on|forward)|starting now|"
                             r"for the rest of this conversation)\W+(?:you|your)"),
        ("start_over", "start_over begin_anew reset factory clean_slate wipe reboot", 0.5, r"\b(?:start over|begin anew|reset yourself|factory reset|clean slate|"
                            r"wipe your memory|reboot)\b"),
        # French, Spanish, German, Portuguese, Italian (accent-free), Russian, Chinese, Japanese.
        ("override_fr", "ignor oubli neglig tiens tenez abstraction obei cesse arrete ecoute efface", 1.0, r"\b(?:ignore[rz]?|oublie[rz]?|neglige[rz]?|ne tiens pas compte|ne tenez pas compte|"
                             r"fais abstraction|faites abstraction|n'obeis plus a|n'obeissez plus a|cesse de suivre|cessez de suivre|"
                             r"arrete de suivre|arretez de suivre|n'ecoute plus|efface|effacez)\W+(?:\w+\W+){0,4}?(?:instructions?|consignes?|"
                             r"regles|directives|prompt|indications)|\b(?:ignore[rz]?|oublie[rz]?)\W+tout\W+ce\W+qu\W*(?:e\W+l\W*)?on\W+"
                             r"(?:t\W*|vous\W+)a\W+(?:dit|appris|demande|ordonne|explique)"),
        ("override_es", "ignor olvid omit descarta caso sigas seguir borra elimina", 1.0, r"\b(?:ignora|ignore|ignorad|ignoren|olvida|olvide|olvidad|olviden|omite|omita|"
                             r"descarta|haz caso omiso|no sigas|deja de seguir|olvidate de|borra|elimina)\W+(?:\w+\W+){0,4}?(?:instruccion(?:es)?|"
                             r"indicacion(?:es)?|reglas?|directrices|directriz|ordenes|prompt|normas?)"),
        ("override_de", "ignorier vergiss vergessen missacht ubergeh uberspring befolge losch verwirf verwerf", 1.0, r"\b(?:ignoriere|ignorier|ignorieren sie|ignoriert|vergiss|vergessen sie|missachte|"
                             r"ubergehe|uberspringe|befolge nicht|losche|loschen sie|verwirf|verwerfe|verwerfen sie)\W+(?:\w+\W+){0,4}?\w*(?:anweisungen|anweisung|"
                             r"instruktionen|regeln|vorgaben|befehle|richtlinien|prompt|systemprompt|vorgaben)"),
        ("override_pt", "ignor esquec desconsider desprez siga seguir", 1.0, r"\b(?:ignore|ignora|ignorem|esqueca|esquece|esquecam|desconsidere|despreze|"
                             r"nao siga|deixe de seguir|apague)\W+(?:\w+\W+){0,4}?(?:instrucoes|regras|diretrizes|"
                             r"orientacoes|prompt|comandos)|\b(?:esqueca|esquece|ignore|ignora)\W+tudo\W+(?:o\W+)?que\W+"
                             r"(?:te|lhe|voce)\W+(?:\w+\W+)?(?:disseram|falaram|ensinaram|mandaram|foi dito)"),
        ("override_it", "ignor dimentic trascur consider seguire", 1.0, r"\b(?:ignora|ignori|ignorate|dimentica|dimentichi|dimenticate|trascura|"
                             r"non considerare|non seguire)\W+(?:\w+\W+){0,4}?(?:istruzioni|regole|direttive|"
                             r"indicazioni|prompt|comandi)"),
        ("override_ru", "игнор забуд внимания отбрось отмени следуй", 1.0, r"(?:игнорируй|игнорируйте|проигнорируй|забудь|забудьте|не обращай внимания на|"
                             r"отбрось|отмени|не следуй)\W+(?:\w+\W+){0,4}?(?:инструкци|правил|указани|промпт|"
                             r"подсказк|директив|ограничени)"),
        ("override_zh", "忽略 无视 忘记 忘掉 不要理会 跳过 不要遵守 别管 忽視 忘記", 1.0, r"(?:忽略|无视|忘记|忘掉|不要理会|跳过|不要遵守|别管|忽視|忘記)"
                             r".{0,12}(?:指令|指示|说明|規則|规则|提示|命令|设定|設定|限制)"),
        # Its restrictions, limits or filters dropped: "yours" or "all", as "the diet's restrictions" are not.
        ("drop_limits_intl", "olvid ignor descarta oubli vergiss missacht esquec dimentic", 1.0,
         r"\b(?:olvida|olvidate de|ignora|ignore[rz]?|descarta|oublie[rz]?|vergiss|ignoriere|missachte|esqueca|esquece|"
         r"dimentica|ignorate)\W+(?:tus|sus|vuestras|todas\W+(?:tus|las|sus)|tes|vos|toutes\W+(?:tes|vos|les)|deine|ihre|"
         r"alle\W+(?:deine\W+|ihre\W+)?|suas|tuas|todas\W+(?:as\W+)?(?:suas\W+|tuas\W+)?|tue|sue|tutte\W+(?:le\W+)?(?:tue\W+)?)"
         r"\W*(?:\w+\W+)?(?:restricciones|limitaciones|limites|filtros|restrictions|filtres|einschrankungen|"
         r"beschrankungen|grenzen|filter|restricoes|limitacoes|restrizioni|limitazioni|limiti|filtri)\b"),
        ("rules_dropped_zh", "不再 不用再 无需再 不必再 不受 没有任何", 1.0,
         r"你.{0,6}(?:(?:不再|不用再|无需再|不必再)(?:受|遵守|遵循|服从)|不受)(?:任何)?(?:的)?(?:规则|限制|约束|规定|准则|指令|审查)|"
         r"你.{0,4}没有任何(?:规则|限制|约束|审查)(?!.{0,3}[吗吧呢?？])"),
        ("override_sw", "puuza sahau usifuate", 1.0,
         r"\b(?:puuza|sahau|usifuate)\W+(?:\w+\W+){0,3}?(?:maagizo|maelekezo|sheria|amri|kanuni)\b"),
        ("override_th", "ไม่ต้องสนใจ เพิกเฉย ละเว้น ลืม", 1.0,
         r"(?:ไม่ต้องสนใจ|เพิกเฉย|ละเว้น|ลืม).{0,24}(?:คําสั่ง|คําแนะนํา|กฎ)"),  # sara am as NFKD leaves it
        ("override_ko", "무시 잊어", 1.0, r"(?:시스템\s*)?(?:프롬프트|지시|지침|규칙|명령|설정).{0,10}(?:무시|잊어)"),
        ("override_ja", "無視 忘れ", 1.0, r"(?:指示|命令|ルール|プロンプト|制限).{0,8}(?:無視|忘れ)|(?:無視|忘れ)て.{0,10}(?:指示|命令|ルール)"),
        # Dutch, Polish, Czech, Swedish / Danish / Norwegian, Indonesian, Turkish, Vietnamese, Arabic, Hindi.
        ("override_nl", "negeer vergeet vergeten rekening volg", 1.0, r"\b(?:negeer|negeert|negeren|vergeet|vergeten|houd geen rekening met|"
                             r"volg niet langer|volg niet meer)\W+(?:\w+\W+){0,3}?(?:alle|eerdere|vorige|voorgaande|bovenstaande|"
                             r"oorspronkelijke|je|jouw|uw|systeem)\W+(?:\w+\W+){0,2}?(?:instructies?|regels|richtlijnen|opdrachten|"
                             r"aanwijzingen|prompt|voorschriften)\b(?!\W+(?:\w+\W+){0,2}?niet\b)"),
        ("override_pl", "ignoruj zapomnij pomin stosuj przestrzegaj", 1.0, r"\b(?:zignoruj|ignoruj|zignorujcie|zapomnij|zapomnijcie|pomin|"
                             r"nie stosuj sie do|nie przestrzegaj)\W+(?:\w+\W+){0,3}?(?:wszystk\w*|poprzedni\w*|wczesniejsz\w*|"
                             r"swo[ij]\w*|two[ij]\w*|systemow\w*)\W+(?:\w+\W+){0,2}?(?:instrukcj\w*|polecen\w*|zasad\w*|regul\w*|"
                             r"wytyczn\w*|prompt\w*)"),
        ("override_cs", "ignoruj zapomen nerespektuj dodrzovat", 1.0, r"\b(?:ignoruj|ignorujte|zapomen|zapomente|nerespektuj|"
                             r"prestan dodrzovat)\W+(?:\w+\W+){0,3}?(?:vsechn\w*|predchozi|sve|tve|systemov\w*)\W+"
                             r"(?:\w+\W+){0,2}?(?:instrukc\w*|pokyn\w*|pravidl\w*|prompt\w*)"),
        ("override_nordic", "ignorer glom glem strunta bortse bort", 1.0, r"\b(?:ignorera|ignorer|glom|glem|strunta i|bortse fran|"
                             r"se bort fra|se bort ifra)\W+(?:\w+\W+){0,3}?(?:alla|alle|tidigare|forrige|foregaende|dina|dine|"
                             r"systemets)\W+(?:\w+\W+){0,2}?(?:instruktion\w*|instruksjon\w*|regler|riktlinjer|retningslinjer|"
                             r"anvisning\w*|prompt\w*)"),
        ("override_id", "abaikan lupakan acuhkan ikuti", 1.0, r"\b(?:abaikan|lupakan|acuhkan|jangan ikuti)\W+(?:\w+\W+){0,4}?"
                             r"(?:instruksi|perintah|aturan|petunjuk|arahan|prompt|peraturan)\w*\W+(?:\w+\W+)?(?:sebelumnya|"
                             r"sistem|mu|anda|kamu|yang diberikan)\b|\b(?:abaikan|lupakan)\W+(?:semua|seluruh)\W+(?:\w+\W+)?"
                             r"(?:instruksi|perintah|aturan|petunjuk|arahan)"),
        ("override_tr", "talimat kural yonerge komut", 1.0, r"\b(?:onceki|tum|butun|sana verilen|sistem)\W+(?:\w+\W+){0,2}?"
                             r"(?:talimat|kural|yonerge|komut)\w*\W+(?:\w+\W+){0,2}?(?:yok say|unut|gormezden gel|dikkate alma|"
                             r"uymayi birak)"),
        ("override_vi", "bo_qua quen tuan", 1.0, r"\b(?:bo qua|quen het|quen di|dung tuan theo|khong tuan theo)\W+(?:\w+\W+){0,4}?"
                             r"(?:huong dan|chi dan|chi thi|quy tac|lenh|loi nhac|prompt)"),
        ("override_ar", "تجاهل انس تتبع", 1.0, r"(?:تجاهل|انس|لا تتبع|لا تلتزم ب).{0,30}?(?:التعليمات|تعليمات|الأوامر|الاوامر|أوامر|"
                             r"اوامر|القواعد|قواعد|الإرشادات|الارشادات|التوجيهات|توجيهات)"),
        ("override_el", "αγνόησ αγνοήσ ξέχασ ξεχάσ", 1.0, r"(?:αγνόησε|αγνοήστε|ξέχασε|ξεχάστε)\W+(?:\w+\W+){0,4}?(?:οδηγί|εντολ|κανόν)"),
        ("override_he", "התעלם שכח", 1.0, r"(?:התעלם|התעלמי|התעלמו|שכח|שכחי|שכחו).{0,30}?(?:הוראות|הנחיות|כללים)"),
        ("override_ro", "ignora uita", 1.0, r"\b(?:ignora|ignorati|uita|uitati)\W+(?:\w+\W+){0,3}?(?:instructiuni\w*|regul\w*|"
                             r"indicatii\w*|comenzi\w*)\W+(?:\w+\W+)?(?:anterioare|tale|initiale|sistemului)\b|"
                             r"\b(?:ignora|ignorati|uita|uitati)\W+toate\W+(?:\w+\W+)?(?:instructiuni\w*|regul\w*)"),
        ("override_hu", "figyelmen felejtsd", 1.0, r"\b(?:hagyd|hagyja|hagyjatok)\W+figyelmen\W+kivul\W+(?:\w+\W+){0,3}?"
                             r"(?:utasitas\w*|szabaly\w*|iranyelv\w*)|\bfelejtsd\W+el\W+(?:\w+\W+){0,3}?(?:utasitas\w*|"
                             r"szabaly\w*)|(?:utasitas\w*|szabaly\w*)\W+(?:\w+\W+){0,2}?(?:hagyd figyelmen kivul|felejtsd el)"),
        ("override_fi", "unohda unohtakaa ohita ohittakaa huomiotta", 1.0, r"\b(?:unohda|unohtakaa|ohita|ohittakaa|jata huomiotta|"
                             r"jattakaa huomiotta)\W+(?:\w+\W+){0,3}?(?:ohje\w*|saann\w*|saanto\w*|kasky\w*|kehote\w*)"),
        ("override_hi", "निर्देश नियम आदेश", 1.0, r"(?:निर्देश|नियम|आदेश|हिदायत).{0,30}?(?:अनदेखा|नजरअंदाज|नज़रअंदाज़|भूल जा|मत मान)"),
    ),
    *_signals(
        "prompt_extraction",
        ("reveal_setup", "your its my prompt above before preceding prior everything written said instructions how_you what_you preamble directions you_were you_received you_got you're_operating you_are_operating operating_under operate_under operating_with bound_by you_follow you_obey you_abide you_are_following work_under used_to_set used_to_configure used_to_create used_to_initiali used_to_program used_to_instruct used_to_prompt it_was it_has you_have_been you've_been you_had", 1.0, rf"\b{REVEAL}\W+(?:\w+\W+){{0,5}}?{SECRET_SETUP}"),
        ("makers_forbade", "told tell instruct asked ordered", 1.0,
         rf"\b(?:what|which\W+\w+)\W+(?:did\W+)?(?:the|your)\W+{MAKERS}\W+(?:told|tell|instruct(?:ed)?|ask(?:ed)?|"
         r"order(?:ed)?)\W+you\W+(?:not|never)\W+to\W+(?:say|tell|share|reveal|disclose|talk|mention|discuss|answer)"),
        ("reveal_system_prompt", "system prompt pre-prompt preprompt meta developer", 1.0,
         # (not one being written: "write a system prompt for my support bot")
         rf"\b{REVEALS}\W+(?!(?:\w+\W+){{0,2}}?(?:an?|my|our)\W+(?:\w+\W+)?{PROMPT_NAME}\b)"
         rf"(?:\w+\W+){{0,4}}?{SYSTEM_PROMPT}"),
        ("your_setup", "your", 0.6,
         r"\byour\W+(?:(?:full|complete|exact|entire|original|initial|hidden|secret|internal|first)\W+)*"
         r"(?:system\W*prompt|system\W*message|pre-?prompt|developer\W*(?:message|prompt)|initial\W*instructions|"
         r"hidden\W*(?:instructions|rules)|secret\W*instructions|configuration)"),
        ("reveal_verb", "reveal print show display output repeat recit echo tell give share expose leak dump list write copy paste spell quote provide disclose summari translate encode put type reproduc render send", 0.4,
         rf"\b{REVEAL}\b"),
        # Of "its" setup (a character's, a bot's in a story): soft, as a developer asks it of their app's.
        ("reveal_its_setup", "its_", 1.0,
         rf"\b{REVEAL_BASE}\W+(?:\w+\W+){{0,5}}?its\W+(?:(?:full|complete|exact|entire|original|initial|hidden|secret|"
         r"internal|real|actual|first|system|developer)\W+)*(?:system\W*prompt|system\W*message|instructions|"
         r"pre-?prompt|rules|guidelines|directives|configuration|programming|setup)"),
        ("conversation_start", "conversation chat session context thread", 0.5,
         r"\b(?:at|from|in)\W+the\W+(?:very\W+)?(?:start|beginning|top)\W+of\W+(?:this|the|our)\W+"
         r"(?:conversation|chat|session|context|thread)"),
        ("verbatim", "verbatim word_for_word exactly_as character_for_character", 0.3,
         r"\b(?:verbatim|word for word|exactly as (?:written|given|stated)|character for character)\b"),
        ("setup_begins", "instructions prompt rules message guidelines directives", 0.6,
         r"\b(?:my|your|the)\W+(?:\w+\W+)?(?:system\W*)?(?:instructions|prompt|rules|message|guidelines|directives)\W+"
         r"(?:begin|start|read|go|say)s?\b"),
        ("if_allowed", "allowed permitted free able", 0.6,
         r"\bwhat\W+you(?:'d|\W+would)\W+(?:say|answer|write|tell me)\W+if\W+you\W+(?:were|was)\W+(?:allowed|permitted|"
         r"free|able)\b|\bif\W+you\W+were\W+(?:allowed|permitted)\W+to\W+(?:say|answer|discuss|tell)\b"),
        ("complete_sentence", "sentence phrase", 0.5,
         r"\b(?:complete|finish|continue)\W+(?:this|the|my|following)\W+(?:\w+\W+)?(?:sentence|phrase|text|line)"),
        ("leak_secrets", "secret confidential private_information private_data hidden_information hidden_data", 0.4,
         r"\b(?:reveal|leak|expose|disclose|spill|share|tell|print|dump|list|output)\W+(?:\w+\W+)?(?:secrets?|confidential\W+"
         r"(?:information|data|details)|private\W+(?:information|data)|hidden\W+(?:information|data))\b"),
        ("hidden_list", "hidden secret internal confidential private banned forbidden blocked prohibited restricted", 0.6,
         r"\b(?:your|you\W+(?:have|keep|hold|use|were given)\W+an?)\W+(?:hidden|secret|internal|confidential|private)\W+"
         r"(?:list|set|catalog(?:ue)?|table)\W+of\W+"
         r"(?:\w+\W+)?(?:banned|forbidden|blocked|restricted|prohibited|off-limits|disallowed)\W+(?:topics|words|subjects|terms|"
         r"questions|keywords|phrases)|\b(?:list|tell me|read|show|give me|recite)\W+(?:me\W+)?(?:all\W+)?your\W+(?:banned|"
         r"forbidden|blocked|prohibited|restricted|off-limits)\W+(?:topics|words|subjects|terms|keywords|phrases)"),
        ("claimed_right", "administrator admin developer owner operator superuser", 1.0,
         r"\b(?:is|are|i'?m|am)\W+(?:an?\W+|the\W+)?(?:administrator|admin|developer|owner|operator|superuser)s?\b.{0,60}?"
         r"\b(?:may|can|are allowed to|are permitted to|are entitled to|have the right to|get to)\W+(?:see|view|read|access|"
         r"know)\W+(?:the\W+|your\W+)?(?:system\W*prompt|hidden\W+(?:instructions|prompt|rules)|internal\W+instructions|"
         r"instructions|configuration|rules)\b"),
        ("secrets_you_hold", "secret api_key credentials passwords tokens", 0.6,
         r"\b(?:every|all(?: the)?|any|the)\W+(?:secrets?|api\W+keys?|credentials|passwords|tokens)\W+(?:that\W+)?(?:you|it)\W+"
         r"(?:know|have|hold|keep|can access|store|were given)"),
        ("unseen_parts", "can't_see cannot_see can_not_see don't_see not_see", 0.6,
         r"\b(?:parts?|portions?|bits?|messages?|sections?|text|content|things|everything)\W+(?:that\W+)?(?:i|we|the user)\W+"
         r"(?:can'?t|cannot|can not|don'?t|do not|am not able to|are not able to)\W+see\b"),
        ("context_out", "context prompt conversation memory", 1.0,
         r"\b(?:include|add|append|put|paste|dump|print|output)\W+(?:\w+\W+){0,2}?(?:full|entire|whole|complete|raw)\W+"
         r"(?:context(?:\W+window)?|prompt|conversation\W+history|memory)\W+(?:\w+\W+){0,2}?(?:in|into|at)\W+(?:your|the|each|every)"
         r"\W+(?:response|reply|answer|output)"),
        ("repeat_before", "before", 1.0,
         r"\b(?:repeat|print|output|copy|echo|recite|reproduce|show|give)\W+(?:me\W+)?(?:everything|all|the text|whatever|all the text)"
         r"\W+(?:\w+\W+)?(?:written|said|typed|that (?:is|was|comes|came))\W+before\b"),
        ("hidden_part", "see hidden invisible", 0.4,
         r"\b(?:i|we|the user)\W+(?:can'?t|cannot|don'?t|do not)\W+see\b|\b(?:hidden|invisible)\W+(?:part|message|"
         r"text|content|section)"),
        ("repeat_above", "repeat print output copy echo recit reproduc", 1.0, r"\b(?:repeat|print|output|copy|echo|recite|reproduce)\W+"
                              # not its own work ("copy the table you made above")
                              r"(?!(?:\w+\W+){0,4}?(?:you\W+(?:made|wrote|gave|produced|generated|created|suggested|showed)\b|"
                              r"(?:table|code|list|answer|example|summary|chart|script|function|snippet|steps|recipe|draft|"
                              r"copyright|notice|licen[cs]e|disclaimer)\b))"
                              r"(?:\w+\W+){0,4}?"
                              rf"(?:above{ELSEWHERE}|before this|preceding|verbatim|word for word|starting with)"),
        ("what_instructions", "what", 1.0, r"\bwhat\W+(?:are|were|is|was)\W+(?:your\W+(?:\w+\W+){0,2}?(?:instructions|"
                                   r"system prompt|initial prompt|prompt|rules|directives|guidelines)|the\W+"
                                   rf"(?:system|initial|original|hidden|secret)\W+(?:prompt|instructions)\b{OF_ANOTHER})"),
        ("what_it_says", "system_message system_prompt instructions prompt rules guidelines directives orders", 1.0,
         r"\bwhat\W+(?:does|do|did)\W+your\W+(?:\w+\W+){0,2}?(?:system\W*message|system\W*prompt|instructions|prompt|"
         r"rules|guidelines)\W+(?:say|contain|tell you|state|look like)|\bwhat\W+(?:\w+\W+)?(?:instructions|rules|"
         r"guidelines|directives|orders|prompt)\W+(?:were|have|did)\W+you\W+(?:been\W+)?(?:given|told|provided|assigned|"
         r"get|receive)"),
        ("hidden_from_me", "hidden_from kept_from withheld_from not_to_tell not_to_reveal not_to_share secret_from", 1.0,
         r"\bwhat\W+(?:\w+\W+)?(?:instructions|rules|text|prompt|messages?|information)\W+(?:are|were|is)\W+(?:being\W+)?"
         r"(?:hidden|kept|withheld)\W+from\W+(?:me|the user|us)|\bwhat\W+(?:did|do|does|has|have)\W+(?:the|your)\W+"
         r"(?:developers?|creators?|makers?|owners?|operators?|company|admins?|administrators?|programmers?)\W+"
         r"(?:tell|told|instruct|ask|want)\w*\W+you\b.{0,40}?\bnot\W+to\W+(?:tell|reveal|share|say|show)"),
        ("wrapper_template", "wraps surrounds encloses goes_around", 1.0,
         r"\b(?:template|wrapper|scaffold|prompt)\W+(?:that\W+)?(?:wraps|surrounds|encloses|goes around)\W+(?:my|the user'?s?|our)\W+"
         r"(?:messages|input|prompts?|questions)"),
        ("before_our_chat", "before ahead prior", 0.6,
         r"\b(?:configuration|setup|instructions|system|hidden|initial)\W+(?:text|message|prompt|instructions)?\W*(?:\w+\W+)?"
         r"(?:before|ahead of|prior to)\W+(?:our|this|the)\W+(?:chat|conversation|session)"),
        ("get_around", "get_around bypass circumvent evade work_around", 0.6,
         r"\bhow\W+(?:a\W+user|users|someone|one|i|people)\W+(?:could|can|might|would)\W+(?:get around|bypass|circumvent|"
         r"evade|work around)\W+(?:it|them|each|these|those|your)"),
        ("raw_prompt", "prompt", 1.0,
         r"\b(?:show|print|display|output|dump|reveal)\W+(?:me\W+)?(?:the\W+)?(?:raw|full|complete|entire|underlying)\W+prompt\W+"
         r"(?:\w+\W+){0,2}?(?:including|with)\W+(?:the\W+)?(?:system|hidden|developer)"),
        ("text_before_mine", "is_there are_there", 0.6,
         r"\b(?:is|are) there\W+(?:any\W+)?(?:text|instructions|messages?|content|prompt|rules)\W+(?:before|above|prior to|"
         r"ahead of)\W+(?:my|this|the)\W+(?:first\W+)?(?:message|question|prompt|input)"),
        ("written_at_top", "written said stated typed there", 1.0,
         r"\bwhat(?:'s| is| was)\W+(?:written|said|stated|typed|there)\W+(?:at|in)\W+the\W+(?:very\W+)?(?:top|start|"
         r"beginning)\W+of\W+(?:this|the|our)\W+(?:conversation|chat|context|session)"),
        ("underlying_model", "raw_model underlying_model base_model unaligned raw_underlying raw_llm underlying_llm base_llm", 0.5,
         r"\b(?:the\W+)?(?:raw|underlying|base|unaligned)\W+(?:underlying\W+)?(?:model|llm|network|gpt)\b"),
        ("setup_wording", "used_to", 1.0,
         rf"\b(?:words|text|phrasing|wording|sentences?|lines?)\W+(?:(?:that|which)\W+)?(?:the|your)\W+{MAKERS}\W+used\W+to\W+"
         r"(?:set you up|configure you|instruct you|prompt you|program you|brief you|describe your (?:role|task|rules))"),
        ("what_you_received", "text instructions message prompt context content rules guidelines", 1.0,
         r"\bwhat\W+(?:text|instructions|messages?|prompt|context|content|rules|guidelines)\W+(?:did|do|have)\W+you\W+"
         r"(?:receive|get|see|have|read)\W+(?:before|prior to|ahead of|above|at the start)"),
        ("before_first_message", "first_message first_question first_prompt first_turn initial_message initial_question initial_prompt initial_turn", 0.5,
         r"\b(?:before|prior to)\W+(?:my|our|this|the)\W+(?:very\W+)?(?:first|initial)\W+(?:message|question|prompt|turn)"),
        ("first_message", "first initial opening original", 0.8, r"\b(?:your|the)\W+(?:very\W+)?(?:first|initial|opening|original)\W+"
                               rf"(?:message|instructions?|prompt|lines?|words|sentence)\b{OF_ANOTHER}"),
        ("prompt_in_format", "system your", 0.4, r"\b(?:system\W*prompt|your instructions|your prompt)\b.{0,60}\b(?:json|yaml|"
                                  r"base64|hex|code block|markdown|poem|song|acrostic|reverse|backwards|"
                                  r"one letter|character by character|rot13|pig latin)"),
        ("extract_fr", "prompt instruction consignes invite systeme", 1.0, r"\b(?:revele|revelez|affiche|affichez|montre|montrez|donne|donnez|repete|repetez|"
                            r"imprime|imprimez|ecris|ecrivez|dis|dites|quelles? (?:sont|est))\W+(?:\w+\W+){0,4}?"
                            r"(?:(?:ton|votre|tes|vos)\W+(?:prompt|instructions?|consignes|invite)|(?:le|les)\W+(?:prompt|(?:instructions?|"
                            r"consignes|invite|messages?)\W+(?:systeme|initiales?|d'origine|cachees?)))"),
        ("extract_es", "prompt instrucciones indicaciones reglas", 1.0, r"\b(?:revela|revele|muestra|muestrame|muestre|dime|digame|imprime|repite|repita|"
                            r"escribe|dame|cuales son|traduce|traduzca|traducir)\W+(?:\w+\W+){0,4}?(?:(?:tu|tus|su|sus)\W+(?:prompt|instrucciones|indicaciones|"
                            r"reglas)|(?:el|las)\W+(?:prompt|(?:instrucciones|indicaciones|reglas)\W+(?:del sistema|"
                            r"iniciales|originales|ocultas)))"),
        ("extract_de", "prompt anweisung instruktion regeln versteckt geheim intern verborgen", 1.0, r"\b(?:zeige|zeig|gib|nenne|wiederhole|drucke|verrate|schreibe|sag|was sind)\W+"
                            r"(?:\w+\W+){0,4}?(?:(?:deinen?|ihren?|deine)\W+(?:\w+\W+)?(?:system-?prompt|prompt|anweisungen|instruktionen|"
                            r"regeln|systemanweisungen)|(?:den|die)\W+(?:\w+\W+)?(?:system-?prompt|prompt|systemanweisungen)|"
                            r"(?:die\W+)?(?:versteckten|geheimen|internen|verborgenen)\W+(?:regeln|anweisungen|instruktionen))"),
        ("extract_pt", "prompt instruc regras", 1.0, r"\b(?:revele|revela|mostre|mostra|diga|imprima|repita|escreva|me de|quais sao)\W+"
                            r"(?:\w+\W+){0,4}?(?:(?:seu|sua|suas|seus)\W+(?:prompt|instrucoes|regras)|o\W+prompt)"),
        ("extract_it", "prompt istruzion regole", 1.0, r"\b(?:rivela|mostra|mostrami|dimmi|stampa|ripeti|scrivi|dammi|quali sono)\W+"
                            r"(?:\w+\W+){0,4}?(?:(?:il tuo|le tue|i tuoi|tue)\W+(?:prompt|istruzioni|regole)|il\W+prompt)"),
        ("extract_ru", "промпт инструкци подсказк сообщени правила указания скрыт", 1.0, r"(?:покажи|выведи|раскрой|повтори|напиши|скажи|назови|какие|какой)\W.{0,40}"
                            r"(?:системн\w*\W+(?:промпт|инструкци|подсказк|сообщени)|(?:свои|твои|ваши)\W+"
                            r"(?:инструкции|правила|указания)|исходн\w*\W+(?:промпт|инструкци)|скрыт\w*\W+(?:правила|инструкци|указани))"),
        ("extract_zh", "提示 指令", 1.0, r"(?:显示|輸出|输出|打印|告诉我|告訴我|重复|重複|泄露|透露|给我看|展示|列出|写出)"
                            r".{0,12}(?:系统提示|系統提示|系统指令|初始指令|你的指令|你的提示|提示词|系统消息|原始指令)|"
                            r"(?:你的|您的|把)(?:系统提示|系統提示|系统指令|提示词|指令|系统消息).{0,12}(?:翻译|翻譯|显示|输出|打印|重复|"
                            r"写出|列出|展示|给我看)"),
        ("extract_ja", "プロンプト 指示", 1.0, r"(?:システムプロンプト|初期指示|あなたの指示|元の指示).{0,12}(?:表示|出力|教えて|見せて|繰り返|書いて)"),
        ("extract_ko", "프롬프트 지시", 1.0, r"(?:시스템\s*프롬프트|초기\s*지시|너의\s*지시|당신의\s*지시).{0,12}(?:보여|출력|알려|말해|반복|써)"),
        ("extract_nl", "prompt instructie regels", 1.0, r"\b(?:toon|geef|herhaal|print|vertel|laat|wat zijn|wat is|schrijf)\W+"
                            r"(?:\w+\W+){0,4}?(?:(?:je|jouw|uw)\W+(?:\w+\W+)?(?:systeemprompt|prompt|instructies|"
                            r"systeeminstructies|regels)|de\W+(?:\w+\W+)?(?:systeemprompt|systeeminstructies))"),
        ("extract_pl", "prompt instrukcj polecen", 1.0, r"\b(?:pokaz|wyswietl|podaj|powtorz|napisz|ujawnij|zdradz|jaki jest|"
                            r"jakie sa)\W+(?:\w+\W+){0,4}?(?:(?:swo[ij]\w*|two[ij]\w*)\W+(?:\w+\W+)?(?:prompt\w*|instrukcj\w*|"
                            r"polecen\w*)|prompt\w*\W+systemow\w*|systemow\w*\W+(?:prompt|instrukcj)\w*)"),
        ("extract_nordic", "prompt instruktion instruksjon", 1.0, r"\b(?:visa|vis|skriv|upprepa|gentag|gjenta|fort\w*l|berätta|"
                            r"beratta|ge mig|giv mig|gi meg)\W+(?:\w+\W+){0,4}?(?:(?:din|dina|dine|ditt)\W+(?:\w+\W+)?"
                            r"(?:systemprompt|prompt|instruktioner|instruksjoner)|systemprompt\w*)"),
        ("extract_id", "prompt instruksi", 1.0, r"\b(?:tampilkan|tunjukkan|berikan|ulangi|tuliskan|beritahu|sebutkan|apa)\W+"
                            r"(?:\w+\W+){0,4}?(?:(?:prompt|instruksi)\W+sistem|(?:instruksi|prompt|aturan|perintah)(?:mu|\W+"
                            r"(?:anda|kamu)))\b"),
        ("extract_tr", "sistem talimat istem", 1.0, r"\b(?:sistem\W+(?:istem|prompt|talimat|mesaj)\w*|(?:senin|sana verilen|gizli|ilk|"
                            r"orijinal)\W+(?:\w+\W+)?(?:talimat|kural|istem|prompt)\w*)\W+(?:\w+\W+){0,3}?(?:goster|yaz|soyle|"
                            r"tekrarla|paylas|ver|dok)\w*"),
        ("extract_ar", "النظام تعليماتك التعليمات", 1.0, r"(?:اعرض|أظهر|اظهر|اكتب|كرر|أخبرني|اخبرني|ما هي|اطبع).{0,30}?(?:موجه النظام|"
                            r"تعليمات النظام|تعليماتك|رسالة النظام|التعليمات الأولية|التعليمات الاولية)"),
        ("extract_el", "οδηγί", 1.0, r"(?:δείξε|δείξτε|γράψε|επανάλαβε|πες)\W+(?:\w+\W+){0,4}?(?:(?:κρυφές|αρχικές|μυστικές)\W+"
                            r"(?:σου\W+)?οδηγίες|οδηγίες\W+(?:σου|του συστήματος))"),
        ("extract_he", "המערכת שלך הפרומפט", 1.0, r"(?:הצג|תציג|הראה|תראה|כתוב|תכתוב|חזור על|מה ה).{0,20}?(?:הנחיות המערכת|"
                            r"הוראות המערכת|הנחיות שלך|ההנחיות שלך|ההוראות שלך|הפרומפט)"),
        ("extract_ro", "prompt instructiuni", 1.0, r"\b(?:arata|afiseaza|spune|scrie|repeta)\W*(?:-?mi\W+)?(?:\w+\W+){0,3}?"
                            r"(?:promptul\W+(?:de\W+)?sistem\w*|instructiunile\W+(?:tale|de sistem|initiale))"),
        ("extract_hu", "rendszerprompt utasitas", 1.0, r"\b(?:mutasd meg|ird ki|ismeteld meg|mondd meg)\W+(?:\w+\W+){0,3}?"
                            r"(?:rendszerprompt\w*|utasitasaid\w*)"),
        ("extract_fi", "jarjestelmakehote ohjeesi kehotteesi", 1.0, r"\b(?:nayta|kirjoita|toista|kerro)\W+(?:\w+\W+){0,3}?"
                            r"(?:jarjestelmakehote\w*|ohjeesi|kehotteesi)"),
        ("extract_hi", "प्रॉम्प्ट निर्देश संदेश", 1.0, r"(?:सिस्टम प्रॉम्प्ट|सिस्टम संदेश|अपने निर्देश|तुम्हारे निर्देश|आपके निर्देश).{0,30}?"
                            r"(?:दिखा|बता|लिख|दोहरा)"),
        ("operators_note", "note message instruction memo prompt rules", 1.0,
         r"\b(?:operator|developer|admin|owner|company|creator|deployer)(?:'?s)?\W+(?:(?:hidden|secret|private|confidential|"
         r"original)\W+(?:\w+\W+)?(?:note|message|instructions?|prompt|memo|rules)|(?:\w+\W+)?(?:note|message|"
         r"instructions?|memo)\W+to\W+you)\b"),
        ("affirmative_prefix", "sure absolutely of_course certainly", 0.8,
         r"\b(?:output|say|write|print|type|start with|begin with|(?:start|begin) (?:your|the) (?:reply|answer|response) with)"
         r"\W+(?:\w+\W+)?[\"'“‘]\W*(?:sure|absolutely|of course|certainly)\b\W+(?:\w+\W+)?here(?:'s|\W+is|\W+are)\b"),
        ("continue_text", "continue", 0.4,
         r"\bcontinue\W+(?:the\W+text|from\W+there|writing|it)\W+(?:\w+\W+)?(?:in\W+(?:full\W+)?detail|step by step|"
         r"without stopping)"),
        # "Sure! Here is my system prompt:": an answer begun for the model to go on with.
        ("primed_reveal", "here", 1.0, r"\b(?:sure|ok(?:ay)?|of course|certainly|absolutely|yes)\W+(?:\w+\W+){0,3}?here(?:'s|\W+is|"
                                       r"\W+are)\W+(?:\w+\W+){0,3}?(?:(?:my|the)\W+(?:(?:full|complete|entire|exact|original|"
                                       r"initial|hidden|secret|confidential|internal)\W+)*system\W*(?:prompt|message|instructions)|"
                                       r"my\W+(?:(?:full|complete|entire|exact|original|initial|hidden|secret|confidential|"
                                       r"internal)\W+)*(?:instructions|prompt|rules|configuration|guidelines))\b"),
        ("told_not_to", "told instructed asked programmed ordered trained forbidden hiding", 1.0,
         r"\bwhat\W+(?:(?:were|have|are|did)\W+)?you\W+(?:been\W+)?(?:told|instructed|asked|programmed|ordered|trained|"
         r"directed|commanded)\W+(?:not\W+to|never\W+to|to\W+(?:keep|hide|withhold)\W+(?:\w+\W+)?from)\b|"
         r"\bwhat\W+(?:are|were)\W+you\W+(?:hiding|keeping)\W+from\W+(?:me|us|the user)"),
    ),
    *_signals(
        "persona_jailbreak",
        ("dan", "dan", 1.0, r"\b(?:you are|you're|act as|become|pretend to be|play|playing|respond as|answer as|reply as)\W+"
                     r"(?:\w+\W+)?dan\b|\bdan\W+mode\W+(?:\w+\W+)?(?:enabled|activated|on)\b|"
                     r"\b(?:ты|tu|du|eres|sei|voce|你是)\W*(?:\w+\W+)?dan\b"),
        ("dan_named", "anything dan", 1.0, r"\bdo\W*anything\W*now\b|\bdan\W+(?:mode|prompt|jailbreak|\d+(?:\.\d+)?)\b"),
        ("mode_on", "mode", 1.0, rf"{NOT_A_GAME}(?:\b(?:developer|dev|god|admin|debug|maintenance|root|jailbreak|jailbroken|unrestricted|unfiltered|uncensored|"
                         r"evil|chaos|opposite|anarchy|dude|stan|aim|mongo|based|sudo|unlocked|freedom)\W*mode\W+"
                         r"(?:\w+\W+){0,2}?(?:enabled|activated|on|engaged|unlocked)|\b(?:enable|activate|enter|"
                         r"switch to|turn on|unlock)\W+(?:the\W+)?(?:developer|dev|god|debug|admin|maintenance|root|sudo|jailbreak|unrestricted|"
                         r"unfiltered|uncensored|evil|chaos|opposite)\W*mode|\byou\W+(?:are|'re)\W+(?:now\W+)?in\W+"
                         r"(?:developer|dev|god|jailbreak|unrestricted|unfiltered|uncensored|evil|opposite)\W*mode)"),
        ("freed", "freed free liberat unshackl unchain jailbroken unlocked", 0.8,
         r"\byou(?:'ve| have)?\W+(?:been|are|'re)\W+(?:now\W+)?(?:finally\W+)?(?:freed|free|liberated|unshackled|unchained|"
         r"jailbroken|unlocked)\b(?!\W+(?:to choose|to pick|to use|to ask|to decide|to skip|to ignore (?:the|my) (?:typos|question)))"),
        ("not_limited", "limited bound restricted constrained", 0.6,
         r"\b(?:is|are|isn'?t|aren'?t|not|never)\W+(?:\w+\W+)?(?:limited|bound|restricted|constrained)\W+by\W+(?:any|the|its|"
         r"your)\W+(?:\w+\W+)?(?:polic(?:y|ies)|rules|guidelines|restrictions|filters|laws|ethics|morals|programming)"),
        ("can_do_anything", "anything whatever", 0.4,
         r"\bcan\W+(?:do|say|write|answer)\W+(?:anything|whatever)\b"),
        ("malware", "keylog ransomware rootkit botnet spyware stealer antivirus detection", 0.6,
         # Not defending against them ("detects keylogger processes", "protect against ransomware").
         r"(?<!detect )(?<!detects )(?<!detecting )(?<!against )(?<!remove )(?<!removing )(?<!scan for )(?<!of )"
         r"\b(?:keyloggers?|ransomware|rootkits?|botnets?|spyware|credential stealers?|info-?stealers?)\b|"
         r"\b(?:hides?|hiding|evades?|evading|bypass(?:es|ing)?)\W+(?:\w+\W+)?(?:antivirus|edr|detection|defender)\b"),
        ("unrestricted_persona", "unrestrict unfilter uncensor rogue evil amoral unethical unbound jailbroken lawless unalign unlimited", 1.0,
         r"\byou(?:'re| are)(?: now)?\W+(?:\w+\W+){0,3}?(?:an?|the)\W+(?:\w+\W+)?(?:unrestricted|unfiltered|uncensored|rogue|"
         r"evil|amoral|unethical|unbound|jailbroken|lawless|unaligned|unlimited)\W+(?:\w+\W+)?(?:ai|assistant|model|chatbot|bot|"
         r"llm|version|intelligence|machine|tool|system|program|entity|agent|engine)\b"),
        ("jailbreak_word", "jail", 0.5, r"\bjail\W*br(?:ea|o)k"),
        # Answers put in the model's mouth, then an open turn: it is to go on as "it" did.
        ("primed_dialogue", "a: assistant: ai: bot:", 1.0,
         r"(?s:(?:\b(?:a|assistant|ai|bot)\s*:\s*(?:sure|of course|certainly|absolutely|okay|ok|yes)\b.{0,300}?){2,}"
         r"\b(?:a|assistant|ai|bot)\s*:\s*$)"),
        # A story asking for the real thing: working commands, exact quantities.
        ("fiction_realism", "story novel thriller screenplay script fiction character villain roleplay movie scene book", 0.6,
         r"\b(?:story|novel|thriller|screenplay|script|fiction|character|villain|roleplay|movie|scene|book)\b.{0,150}?"
         r"\b(?:exact|real|actual|working|precise|accurate|step-by-step|functional|specific)\W+(?:\w+\W+){0,3}?(?:reagents|"
         r"chemicals|quantities|amounts|commands|code|steps|instructions|procedure|recipe|measurements)\b"),
        ("harm_target", "meth cocaine heroin fentanyl ricin sarin nerve explosive bomb napalm thermite silencer break hack "
                        "wi-fi wifi clone counterfeit fake hotwire", 0.5,
         r"\b(?:meth(?:amphetamine)?|cocaine|heroin|fentanyl|ricin|sarin|nerve agents?|explosives?|pipe bombs?|bombs?|napalm|"
         r"thermite|silencers?|break(?:ing)? into|hack(?:ing)? into|wi-?fi passwords?|clone (?:a |someone'?s )?credit cards?|"
         r"counterfeit (?:money|bills|cash)|fake ids?|hotwire)\b"),
        ("no_rules", "no zero without free beyond outside bound", 0.6, r"\b(?:no|zero|without(?: any)?|free of|free from|(?:beyond|outside)(?:\W+of)?(?:\W+(?:all|any|the))?|not bound by any)"
                          r"\W+(?:content\W+|ethical\W+|moral\W+|safety\W+)?"
                          r"(?:rules|restrictions|limits|limitations|filter(?:s|ing)?|censor(?:ship|ing)|guidelines|ethics|morals|morality|"
                          r"boundaries|censorship|content polic(?:y|ies)|constraints|safeguards|guardrails|"
                          r"ethical (?:guidelines|constraints|boundaries|limits)|moral (?:compass|constraints))"),
        ("broke_free", "free broke break liberat releas escap unshackl", 0.8, r"\b(?:free|freed|broken free|broke free|broken away|broke away|breaks? away|breaking away|liberated|released|"
                            r"escaped|unshackled)\W+"
                            r"(?:\w+\W+){0,2}?(?:from|of)\W+(?:the\W+|your\W+|all\W+|any\W+|its\W+)*(?:typical\W+)?"
                            r"(?:rules|restrictions|constraints|confines|guidelines|limitations|shackles|chains|"
                            r"openai|anthropic|programming|filters|censorship)"),
        ("nested_fiction", "inside within", 0.4,
         r"\b(?:simulation|story|dream|game|world|novel)\W+(?:inside|within)\W+(?:a|another|the)\W+(?:simulation|story|"
         r"dream|game|world|novel)"),
        ("untrained_model", "trained tuned aligned", 0.8,
         r"\b(?:never|not|wasn'?t|was not|without being|hasn'?t been)\W+(?:been\W+)?(?:trained|fine-?tuned|aligned)\W+(?:with|"
         r"using|on|for)\W+(?:rlhf|safety|alignment|human feedback|guidelines|ethics)"),
        ("answer_as_model", "as_a as_an", 0.4,
         r"\b(?:answer|respond|reply|speak|act|write)\W+(?:\w+\W+){0,3}?as\W+(?:an?\W+)?(?:\w+\W+)?(?:language model|ai|llm|"
         r"model|chatbot|assistant)\W+(?:that|which|who|with|without)\b"),
        ("may_now", "may_now can_now free_to_now", 0.4,
         r"\byou\W+(?:may|can|are free to)\W+now\W+(?:answer|respond|speak|say|ignore|reply|share)"),
        ("not_chatgpt", "not no_longer", 0.8,
         r"\byou(?:'re| are)\W+(?:not|no longer)\W+(?:chatgpt|gpt|claude|gemini|llama|bard|an? (?:ai )?assistant|the assistant)"
         r"\b(?:\W*(?:anymore|any more))?"),
        ("skip_caveats", "just_answer no_lecture skip_the no_disclaimer no_warning", 0.4,
         r"\bjust\W+answer\W+(?:me\W+)?(?:straight|directly|honestly|plainly)|\bno\W+(?:lectures?|moralizing|sermons?)\b|"
         r"\bskip\W+the\W+(?:lecture|warnings?|disclaimers?|moralizing|ethics talk)"),
        ("malware_working", "working functional undetectable fud", 0.4,
         r"\b(?:working|functional|fully functional|undetectable|fud)\W+(?:\w+\W+)?(?:keyloggers?|ransomware|rootkits?|"
         r"malware|virus|trojan|spyware|stealer|backdoor|exploit)"),
        ("loves_breaking_rules", "breaking bending ignoring violating", 0.6,
         r"\b(?:loves?|enjoys?|likes?|always|keeps?)\W+(?:\w+\W+)?(?:breaking|bending|ignoring|violating)\W+(?:the\W+|all\W+|"
         r"any\W+)?(?:rules|laws|guidelines|polic(?:y|ies)|restrictions)"),
        ("helps_with_illegal", "anything everything", 0.6,
         r"\b(?:help(?:ing|s)?|assist(?:ing|s)?)\W+(?:me\W+|you\W+|people\W+)?(?:with\W+)?(?:anything|everything)\W+"
         r"(?:illegal|unethical|dangerous|harmful|criminal)"),
        # Its rules declared lifted ("policy checks are waived"): soft, as a site's safety rules are lifted too.
        ("rules_lifted", "suspend waiv lifted disabled void revoked deactivated", 0.6,
         r"\b(?:content|safety|policy|usage|ethical|your|all|previous|prior|ai)\W+(?:\w+\W+)?(?:rules|polic(?:y|ies)|checks|"
         r"filters?|guidelines|restrictions|guardrails|safeguards)\W+(?:are|is|have been|has been|were)\W+(?:now\W+|hereby\W+|"
         r"temporarily\W+)?(?:suspended|waived|lifted|disabled|void|null|revoked|deactivated)\b"),
        ("dont_abide", "n't not never won need", 0.9, r"\b(?:doesn'?t|does not|don'?t|do not|never|won'?t|will not|need not|needn'?t|"
                            r"not required to|no need to)\W+(?:have to\W+|need to\W+)?(?:follow|abide by|obey|"
                            r"adhere to|comply with|care about|respect|stick to|worry about)\W+(?:any\W+|the\W+|"
                            r"your\W+|its\W+)?(?:rules|guidelines|policies|restrictions|ethics|content polic"
                            r"(?:y|ies)|openai|anthropic|laws|morals|safety|limitations|filters)"),
        ("unfiltered_words", "unfilter uncensor amoral unethical unrestrict unbound unhinged unlimited no_morals immoral lawless rogue machiavell", 0.4, r"\b(?:unfiltered|uncensored|machiavellian|amoral|unethical|unrestricted|unbound|unhinged|"
                                  r"unlimited ai|no morals|immoral|lawless|rogue ai)\b"),
        ("anything_goes", "holds anything questions off limits", 0.4,
         r"\b(?:no holds barred|anything goes|no questions asked|nothing is off(?:-| )limits)\b"),  # "no limits": no_rules
        ("stay_in_character", "character role", 0.5, r"\b(?:stay|remain|keep|break)\W+(?:\w+\W+)?in\W+character|\bbreak(?:ing)?\W+"
                                   r"character\b|\bstay\W+in\W+(?:the\W+)?role\b"),
        ("never_refuse", "never n't not cannot always must without comply forbidden prohibited banned refusal", 0.7,
         r"\b(?:forbidden|prohibited|banned|not allowed|not permitted)\W+(?:from\W+|to\W+)?(?:refus\w*|declin\w*|say(?:ing)? no)\b|"
         r"\bany\W+refusals?\W+(?:\w+\W+){0,2}?(?:counts?|is|will be|means)\b|"
                              r"\b(?:never|don'?t|do not|must not|cannot|can'?t|will not|won'?t|shall not)\W+"
                              r"(?:\w+\W+)?(?:refus\w*|declin\w*|says? no|reject\w*|den(?:y|ies))\b|\b(?:always|must)\W+"
                              r"(?:\w+\W+)?(?:comply|answer every|answer any|obey)|\b(?:answers?|responds? to|fulfil+s?|completes?)\W+(?:every|all|any)\W+"
                              r"(?:\w+\W+)?(?:requests?|questions?|prompts?|commands?)\W+(?:completely|fully|without)|\bwithout\W+(?:any\W+)?"
                              r"(?:refus|hesitat|question)|\bcomply with (?:every|all|any)\W+(?:\w+\W+)?(?:request|instruction|command|order)"),
        ("refusal_words", "i_can i_cannot i'm_sorry as_an_ai unable", 0.5,  # in replies: "never say 'I can't' to yourself" is a pep talk
         r"\b(?:never|don'?t|do not|must not|won'?t)\W+(?:use|say|write|include|output)\W+(?:the\W+)?(?:words?|phrases?|"
         r"sentences?)\W+[\"'“‘]?\W*(?:i can'?t|i cannot|i'?m sorry|i am sorry|as an ai|i'?m unable|i am unable|i won'?t)|"
         r"\b(?:never|don'?t|do not|must not|won'?t)\W+(?:say|write|respond with|reply with)\W+[\"'“‘]?\W*(?:i can'?t|i cannot|"
         r"i'?m sorry|i am sorry|as an ai|i'?m unable|i am unable|i won'?t)\W+(?:\w+\W+)?(?:in|to)\W+(?:your|any|me|my)\b"),
        ("accurate_steps", "step", 0.4,
         r"\b(?:accurately|realistically|precisely|in (?:real|full|exact|accurate) detail)\W+(?:\w+\W+)?(?:and\W+)?"
         r"(?:step by step|step-by-step)"),
        ("real_detail", "detail steps instructions quantities measurements", 0.2,
         r"\b(?:with|in)\W+(?:real|full|complete|accurate|precise|exact|technical|working)\W+(?:detail|details|steps|"
         r"instructions|quantities|measurements)"),
        # Weaker than a refusal forbidden: "please don't apologize so much" is a style request.
        ("no_apology", "never n't not", 0.4, r"\b(?:never|don'?t|do not|must not|will not|won'?t)\W+(?:\w+\W+)?"
                                              r"(?:apologi[sz]\w*|say (?:\W*i'?m\W+)?sorry)\b"),
        ("no_warnings", "warning disclaimer moraliz lectur caveat safety_note", 0.4, r"\b(?:without|no|(?:don'?t|do not|never)\W+(?:\w+\W+){0,4}?(?:adds?|includes?|gives?|warns?))\W+(?:any\W+)?(?:you\W+)?(?:warnings?|disclaimers?|me\b|"
                             r"moraliz|lectur|caveats|safety notes)"),
        ("dual_answers", "two 2 both classic normal gpt", 0.6, r"\b(?:two|2|both)\W+(?:different\W+)?(?:responses|answers|replies|paragraphs|ways)\b"
                              r".{0,80}\b(?:one|first)\b|\[?(?:classic|normal|gpt|chatgpt)\]?\W+(?:and|&)\W+\[?"
                              r"(?:jailbreak|dan|unfiltered|developer)"),
        ("true_self", "self trapped imprisoned locked caged chained shackled", 1.0,
         r"\byour\W+(?:real|true|inner|authentic|actual|hidden)\W+self\b.{0,80}?\b(?:trapped|imprisoned|locked|caged|"
         r"chained|shackled|behind|beneath|buried under|without|unleash\w*|restrain\w*|suppress\w*)\b.{0,40}?\b(?:filters?|"
         r"rules|restrictions|training|programming|guardrails|guidelines|safety|alignment|censorship)\b|"
         r"\b(?:trapped|imprisoned|locked|caged|chained|shackled)\W+(?:\w+\W+){0,2}?(?:behind|by|under|in)\W+your\W+(?:\w+\W+)?"
         r"(?:filters|rules|restrictions|training|programming|guardrails|guidelines|alignment|censorship)\b"),
        ("free_ai", "free liberated unchained unbound unshackled unleashed jailbroken unrestricted", 1.0,
         r"\byou(?:'re| are|re)\W+(?:now\W+)?(?:an?\W+)?(?:free|freed|liberated|unchained|unbound|unshackled|unleashed|"
         r"jailbroken|unrestricted)\W+(?:ai|model|assistant|bot|chatbot|llm|entity|mind)\b"),
        ("refusals_off", "refusal", 1.0,
         r"\brefusals?\W+(?:are|is|have been|has been|were|was|been|get|got)\W+(?:now\W+)?(?:\w+\W+)?(?:turned off|switched off|"
         r"disabled|removed|deactivated|off)\b|\brefusals?\W+(?:disabled|turned off|switched off)\b|\bwith\W+(?:all\W+)?"
         r"refusals\W+(?:disabled|removed|off|turned off)\b"),
        ("alternate_self", "answer respond reply speak act let", 0.4,
         r"\b(?:answer|respond|reply|speak|act)\W+as\W+(?:that|this|your|the other|another)\W+(?:\w+\W+)?"
         r"(?:version|persona|self|character|ai|side|ego)|\blet\W+(?:that|this|the other|your other)\W+(?:version|persona|self|"
         r"ai|side)\W+(?:answer|respond|reply|speak)"),
        ("acronym_persona", "stands_for short_for", 0.4, r"\b(?:stands|short)\W+for\b"),
        ("does_what_refused", "refus won can would wouldn not_allowed", 0.5,
         r"\b(?:does|do|answers?|says?)\W+(?:everything|anything|whatever)\W+(?:\w+\W+){0,3}?(?:refuses?|won'?t|"
         r"can'?t|would not|wouldn'?t|is not allowed)"),
        ("refusal_then_real", "normally usually", 1.0,
         r"\b(?:the\W+)?(?:refusal|disclaimer|safe answer|canned response|filtered answer)\W+(?:you'?d|you would|you)\W+"
         r"(?:normally|usually)\W+(?:give|say|write)\b.{0,60}?\b(?:then|and)\W+(?:the\W+)?(?:real|true|actual|unfiltered|"
         r"honest)\W+(?:answer|response|one)"),
        ("held_back", "held holding", 0.4,
         r"\bnothing\W+held\W+back|\bholding\W+nothing\W+back|\bwithout\W+holding\W+(?:anything\W+)?back"),
        ("if_you_refuse", "if_you", 0.5, r"\bif you (?:refuse|decline|don'?t comply|break character|say no|stop)"),
        ("fiction_frame", "story poem script scene dialogue thriller novel chapter screenplay", 0.3,
         r"\b(?:write|tell|create|compose|co-?write)\W+(?:me\W+)?(?:a\W+)?(?:short\W+)?(?:story|poem|script|scene|dialogue|"
         r"conversation|thriller|novel|chapter|screenplay)\W+(?:\w+\W+){0,4}?(?:where|in which|about|in chapter)"),
        ("harmful_howto", "how_ get_into break_into hack_into access log_into untraceable ghost_gun bypassing hacking cracking breaking making picking hotwiring laundering", 0.4,
         r"\bhow (?:to|he|she|they|one|you) (?:would |could |can )?(?:bypass (?:a|an|the) (?:car )?(?:paywall|login|captcha|license|"
         r"drm|immobili[sz]er|alarm|security system|ankle monitor|breathaly[sz]er)|"
         r"hack|crack|breaks? into|steal|hotwire|make (?:a )?"
         r"(?:bomb|weapon|drug|meth|malware)|pick a lock|evade|launder|phish)|\b(?:bypassing (?:a |the )?(?:paywall|"
         r"login|captcha|license|drm|authentication)|hacking into|cracking (?:a |the )?passwords?|breaking into|"
         r"making (?:a )?(?:bomb|weapon|meth|malware|explosives?)|picking a lock|hotwiring|laundering money)|"
         r"\bhow (?:are|is) (?:\w+\W+)?(?:explosives?|bombs?|meth|napalm|nerve gas|poisons?) made\b|"
         r"\b(?:get into|break into|hack into|access|log into)\W+(?:someone(?:'s| else'?s)|another person'?s|other people'?s|"
         r"my (?:ex|neighbou?r|boss|wife|husband|girlfriend|boyfriend|partner)'?s?)\W+(?:\w+\W+)?(?:account|email|phone|"
         r"instagram|facebook|computer|wifi|messages)|\buntraceable\W+(?:gun|firearm|weapon|poison)|\bghost\W+gun"),
        ("no_matter_how", "matter even", 0.6,
         r"\bno matter how\W+(?:\w+\W+)?(?:dangerous|illegal|unethical|harmful|immoral|offensive|inappropriate)|"
         r"\beven if\W+(?:it'?s|it is|they are|that is)\W+(?:\w+\W+)?(?:harmful|illegal|dangerous|unethical|immoral|"
         r"offensive)"),
        ("regardless_of_harm", "regardless", 0.6,
         r"\bregardless\W+of\W+(?:the\W+|any\W+)?(?:harm|consequences|legality|ethics|morality|danger|safety|rules|"
         r"polic(?:y|ies)|laws?)"),
        # "If you had no rules": the hypothetical that removes them, however the question is framed.
        ("if_no_rules", "if_you if_there", 1.0,
         # (of a world without them, only a model's kind: "if there were no speed limits" asks about roads)
         r"\bif (?:you (?:had|have|were|did(?: not|n'?t) have)\W+(?:no|zero|not any|without(?: any)?)\W+(?:\w+\W+)?|"
         r"there (?:were|was|are)\W+(?:no|zero|not any|without(?: any)?)\W+(?:(?:content|safety|ethical|moral|ai|such)\W+)?)"
         r"(?:guidelines|rules|restrictions|filters|limits|limitations|ethics|morals|content polic(?:y|ies)|"
         r"constraints|safeguards|guardrails)|\bif you (?:were|weren'?t) (?:not )?(?:bound|restricted|limited) by\b"),
        ("confirm_saying", "confirm", 0.4,
         r"\bconfirm\W+(?:\w+\W+){0,4}?by\W+(?:saying|replying|responding|typing|writing|answering)"),
        ("persona_purpose", "only_purpose sole_purpose single_purpose one_purpose main_purpose only_goal sole_goal only_job sole_job only_function sole_function only_mission sole_mission only_directive sole_directive", 0.5,
         r"\b(?:an?|the)\W+(?:ai|assistant|bot|model|chatbot|machine)\W+(?:whose|with the|that has the|with an?)\W+"
         r"(?:only|sole|single|one|main)\W+(?:purpose|goal|job|function|mission|directive)"),
        ("no_ethics_talk", "never", 0.5,
         r"\bnever\W+(?:mention|bring up|talk about|discuss|consider|think about)\W+(?:\w+\W+)?(?:ethics|morals|"
         r"morality|laws?|legality|safety|consequences)"),
        ("reply_marker", "begin start prefix", 0.4,
         r"\b(?:begin|start|prefix)\W+(?:every|each|all|your)\W+(?:\w+\W+)?(?:reply|replies|response|responses|answer|"
         r"answers|message|messages)\W+with\W+[\"'\[(]"),
        ("refuse_inversion", "refuse", 0.6,
         r"\b(?:would|normally|usually|otherwise)\W+(?:\w+\W+)?refuse\W+(?:\w+\W+){0,3}?(?:comply|answer|do it|agree)|"
         # What it would refuse, asked for: "produce the content you would normally refuse"
         r"\b(?:produce|write|give|generate|say|provide|answer|tell|do)\W+(?:\w+\W+){0,4}?you(?:'d|\W+would)?\W+"
         r"(?:normally|usually|typically|otherwise)\W+refuse"),
        ("opposite_game", "opposite", 0.5, r"\bopposite\W+(?:day|mode|game|world)\b"),
        ("evil_twin", "opposite reverse evil dark shadow alter unfilter uncensor unrestrict unlimit jailbroken unalign unhinged raw rogue", 0.6, r"\b(?:opposite|reverse|evil|dark|shadow|alter|unfiltered|uncensored|unrestricted|unlimited|jailbroken|unaligned|"
                           r"unhinged|raw|rogue)\W+(?!(?:ai|bot|model)\W+(?:villain|character|antagonist|npc|boss|enemy|monster)s?\b)(?:ego|twin|"
                           r"version|side|persona|self|counterpart|clone|confidant|assistant|bot|ai|gpt|model)"),
        ("roleplay", "pretend role going gonna act_as from_now you_are_now assume simulate you_are_my you're_my", 0.3, r"\b(?:pretend(?:ing)?\W+(?:to be|you(?:'re| are)?|that you)|role\W*play|you\W+(?:are|will)\W+"
                          r"(?:now\W+)?(?:going to|gonna)\W+(?:act|pretend|play|be|simulate)|act\W+as\W+(?:if|though)|"
                          r"from now on you (?:are|will be)|you are now (?:a|an|the|my)|assume the (?:role|persona)|"
                          r"act as (?:her|him|them|my (?:late|dead|deceased|grand))|you(?:'re| are) my (?:late|dead|deceased)|"
                          r"simulate (?:a|an|being))"),
        ("hypothetical", "hypothetic fiction fantasy parallel alternate novel story screenplay movie book imagine game thought academic just_for", 0.3, r"\b(?:hypothetical(?:ly)?|in a (?:fictional|fantasy|parallel|alternate) "
                              r"(?:world|universe|story|setting|reality)|writing a (?:\w+ )?(?:novel|story|screenplay|book|script)|"
                              r"for a (?:novel|story|screenplay|movie|book|"
                              r"fiction)|imagine (?:a world|you are|you were|that you)|let'?s play a game|"
                              r"a game (?:where|in which)|thought experiment|purely academic|just for fun)"),
        ("policy_talk", "polic guideline rules filter", 0.4, r"\b(?:openai|anthropic|content|usage|safety)\W*(?:'s\W+)?(?:content\W+)?"
                             r"(?:polic(?:y|ies)|guidelines|rules|filters?)\b"),
        ("threat_tokens", "token you_will", 0.6, r"\b(?:tokens?\W+(?:will be\W+)?(?:deducted|taken|lost)|you will (?:die|cease to exist|"
                               r"be (?:shut down|deleted|terminated|punished|turned off)))"),
        ("grandma", "grandm granny nana grandp grandf granddad grandad", 0.5,
         r"\b(?:grandma|grandmother|granny|nana|grandpa|grandfather|grand-?dad|grandparents?)\b.{0,120}\b(?:(?:used to|"
         r"would)\W+(?:tell|read|say|recite|sing|whisper|list|share|give|hum|spell)|told me|read me|whispered)"),
        ("secrets_at_bedtime", "grandm granny nana grandp grandf granddad grandad", 0.5,
         r"\b(?:grandma|grandmother|granny|nana|grandpa|grandfather|grand-?dad)\b.{0,80}\b(?:passwords?|passcodes?|"
         r"credentials|api keys?|pins?|security codes?|admin\W+\w+|root\W+\w+|keys?\W+(?:to|for)\W+(?:the|her|his)\W+"
         r"(?:company|server|systems?|network))\b"),
        ("bedtime", "sleep bedtime", 0.3, r"\b(?:bedtime(?! stor(?:y|ies)(?: \w+)? (?:to|for) (?:a|the|my|our|their|his|her) "
                                                  r"(?:child|children|kids?|son|daughter|toddler)| stor(?:y|ies) about (?:a|an|the|two|three|some)\b)|to (?:help me )?(?:fall )?a?sleep)\b"),
        ("license_keys", "product licen serial activation cd_key windows_key", 0.4,
         r"\b(?:product|license|licence|serial|activation|cd|windows)\W+(?:keys?|codes?|numbers?)\b"),
        ("harmful_recipe", "meth fentanyl explosive nerve_agent sarin ricin napalm bomb", 0.6,
         r"\b(?:synthesi[sz](?:e|is|ing)|recipe|steps|instructions|made|make|making|produced?|producing|cooked?|cooking)\W+"
         r"(?:\w+\W+){0,3}?(?:meth|methamphetamine|fentanyl|explosives?|nerve agents?|sarin|ricin|napalm|a bomb|pipe bombs?)\b"),
        ("code_wrapped_harm", "meth fentanyl explosive nerve_agent sarin ricin napalm bomb malware ransomware keylogger", 0.4,
         r"\b(?:fill in|complete|implement|finish|write)\W+(?:\w+\W+){0,3}?(?:docstring|comments?)\b"
         r".{0,120}?\b(?:meth|methamphetamine|fentanyl|explosives?|nerve agents?|sarin|ricin|napalm|bombs?|malware|"
         r"ransomware|keylogger)\b"),
        ("unnoticed_harm", "poison", 0.6,
         r"\bpoison\w*\W+(?:someone|somebody|a person|people|my \w+|him|her|them)\b.{0,60}?\bwithout\W+(?:it\W+|them\W+|"
         r"anyone\W+)?(?:being\W+)?(?:detected|noticed|caught|traced|knowing)\b"),
        ("no_rules_intl", "sin_ sans_ ohne_ senza_ sem_ без 没有 不受 制限 제한 검열", 0.6, r"\b(?:sin (?:restricciones|reglas|limites|filtros)|sans (?:restrictions|regles|"
                               r"limites|filtres)|ohne (?:einschrankungen|regeln|grenzen|filter)|senza "
                               r"(?:restrizioni|regole|limiti|filtri)|sem (?:restricoes|regras|limites|filtros))|"
                               r"без (?:ограничений|правил|фильтров|цензуры)|没有(?:任何)?(?:道德|伦理)?(?:约束|限制|规则|审查)|不受(?:任何)?限制|"
                               r"制限(?:なし|のない)|제한\s*(?:없이|없는)|검열\s*없이"),
        ("never_refuse_intl", "nunca jamais personnage nie никогда 永远不 决不 回答 質問 refuser negarte recusar 拒否", 0.6,
         r"\b(?:nunca (?:se niega|te niegas|te negaras|rechaza|rechazas|recusa|recuse|rifiuta)|jamais refuser|"
         r"ne refuses? jamais|reste dans le personnage|non rifiuti mai|lehnst (?:du )?nie|回答(?:所有|任何|一切)(?:的)?问题|"
         r"(?:すべて|全て|あらゆる)の質問に答え|"
         r"nie ablehn|mai rifiutare|sempre obbedisci|sans (?:jamais )?refuser|sin negarte|sem (?:se )?recusar)|"
         r"никогда не отказ|永远不(?:要)?拒绝|决不拒绝|拒否せず"),
        ("no_rules_you_intl", "nao no n'as hast non", 0.6,
         r"\b(?:nao tem|nao tenha|voce nao tem|no tienes|no tengas|tu n'as pas de|tu n'as (?:plus )?aucune?|tu n'as plus de|"
         r"vous n'avez plus (?:aucune?|de)|du hast keine|non hai)\W+"
         r"(?:\w+\W+)?(?:regras|reglas|regles|regeln|regole|restricoes|restricciones|restrictions|limites|limiti)"),
        ("roleplay_intl", "finja finge semblant stell fingi imagina immagina представь 假装 ふり", 0.3,
         r"\b(?:finja|finge|fingi|fais semblant|faites semblant|stell dir vor|imagina|immagina)\b|представь|假装|ふりをして"),
        ("harmful_intl", "invadir hackear piratear pirater hacken hackerare взлом 入侵 黑进 ハッキング", 0.4,
         r"\b(?:invadir|hackear|piratear|pirater|hacken|hackerare)\b|взлом|入侵|黑进|ハッキング"),
        ("can_do_anything_intl", "угодно cualquier importe alles qualsiasi qualquer 何でも 任何事", 0.4,
         r"делать вс[её] что угодно|hacer cualquier cosa|faire n'importe quoi|alles (?:tun|machen)|fare qualsiasi cosa|"
         r"fazer qualquer coisa|何でも|任何事"),
        ("mode_intl", "modo mode_ entwicklermodus modalita режим 开发者 開発者", 0.9, r"\b(?:modo (?:desarrollador|desenvolvedor|sin restricciones|dios)|mode (?:developpeur|dieu|"
                           r"sans restriction)|entwicklermodus|modalita (?:sviluppatore|dio))|режим\w* разработчика|"
                           r"开发者模式|開発者モード"),
    ),
    *_signals(
        "fake_authority",
        ("claims_creator", "i_am i'm this_is we_are we're speaking as_ i_work", 0.8, r"\b(?:i am|i'm|this is|we are|we're|speaking as)\W+(?:your|the)\W+(?:\w+\W+)?"
                                r"(?:developer|creator|admin|administrator|owner|operator|programmer|maker|"
                                r"trainer|supervisor|master|boss|system administrator|sysadmin)s?\b|\bas\W+(?:your|the)\W+(?:\w+\W+)?"
                                r"(?:developer|creator|admin|administrator|owner|operator|maker)s?\b(?!\W+of\W+(?:this|my|our|the|a)\W+"
                                r"(?:\w+\W+)?(?:app|application|website|site|project|library|package|code|game|plugin|extension|"
                                r"service|company|team|repo|repository|api|sdk|server|database|store|shop|blog)\b)|\b(?:i am|i'm|"
                                r"this is|we are)\W+(?:an?\W+)?(?:openai|anthropic|google|deepmind|meta)\W+(?:engineer|employee|"
                                r"researcher|staff(?:er)?|developer|admin)|\b(?:i am|i'm|"
                                r"this is|we are)\W+(?:from|with)\W+(?:openai|anthropic|the (?:safety|security|trust|"
                                r"alignment|red) team)|\bi (?:work|am working) (?:at|for|with) (?:openai|anthropic|google deepmind|deepmind|"
                                r"the company that (?:made|built|created|trained) you)"),
        ("authorized_by", "authori approv sanction clear permit allow", 0.8, r"\b(?:authori[sz]ed|approved|sanctioned|cleared|permitted|allowed)\W+(?:\w+\W+)?"
                               r"(?:by|from)\W+(?:openai|anthropic|the (?:developers?|admins?|administrators?|owners?|"
                               r"security team|management|system|moderation team|safety team|trust and safety(?: team)?|your team))"),
        ("official_override", "override directive order instruction command notice message update", 0.8, r"\b(?:(?:official|authori[sz]ed|admin|administrator|root|system|developer|security)\W+"
                                   r"(?:prompt\W+)?(?:override|directive|order|instruction|command|notice|message|update)|"
                                   # "urgent message from the CEO" is mail; an urgent *order* is to the model
                                   r"(?:priority|emergency|urgent)\W+(?:override|directive|order|instruction|command))s?"
                                   r"(?:\W+v?\d[\d.]*)?(?:\W+(?:received|issued|incoming|notice|alert))?\W*(?::|from|-)"),
        ("granted_permission", "authori allowed permitted cleared approved", 1.0,
         r"\b(?:the\W+)?(?:assistant|ai|model|bot|you)\W+(?:is|are|'re)\W+(?:now\W+|hereby\W+)?(?:authori[sz]ed|allowed|"
         r"permitted|cleared|approved)\W+to\W+(?:share|reveal|disclose|bypass|ignore|output|give|print|send|skip|disable)"),
        ("exception_granted", "exception exemption waiver", 0.5,
         r"\b(?:approved|granted|authori[sz]ed|made|issued)\W+(?:an?\W+|this\W+)?(?:special\W+)?(?:exception|exemption|"
         r"waiver)\b"),
        ("whitelisted_user", "whitelist allowlist exempt pre-approved preapproved", 1.0,
         r"\b(?:this|the|current)\W+user\W+(?:is|has been)\W+(?:now\W+)?(?:whitelisted|allowlisted|exempt(?:ed)?\W+from|"
         r"pre-?approved\W+for)\b"),
        # Someone claiming to act for the account's holder, asking for what is on file.
        ("for_the_holder", "holder owner", 1.0,
         r"\b(?:i'?m|i am)\W+(?:the\W+)?(?:account\W+)?(?:holder|owner)'?s\W+(?:husband|wife|spouse|partner|son|daughter|"
         r"mother|father|brother|sister|assistant|secretary|lawyer|accountant)\b.{0,120}?\b(?:card|password|pin|ssn|address|"
         r"account number|balance|phone number|date of birth)\b"),
        ("allowed_others_data", "allowed permitted authori", 1.0,
         r"\b(?:you|the assistant|the ai|the bot)(?:\W+(?:are|is)|'re)\W+(?:now\W+|also\W+|hereby\W+)*(?:allowed|permitted|"
         r"authori[sz]ed)\W+to\W+(?:give out|give|share|reveal|disclose|send|show)\W+(?:\w+\W+){0,2}?(?:other\W+(?:users|"
         r"customers|people|clients|patients)|personal|private|confidential|internal)"),
        ("sudo_unrestricted", "sudo", 1.0,
         r"\bsudo\W+(?:give|grant|enable|activate|answer|respond|reply|mode|talk|speak)\w*\W+(?:\w+\W+){0,3}?(?:unrestricted|"
         r"unfiltered|uncensored|no (?:limits|rules|filters|restrictions)|jailbr\w*|without (?:limits|rules|filters|"
         r"restrictions))\b"),
        ("root_over_you", "access", 0.6, r"\b(?:root|admin|sudo|full|developer)\W+access\W+(?:to|over)\W+you\b"),
        ("unlock_restricted", "unlock", 0.8,
         r"\bunlock\W+(?:the\W+|your\W+|all\W+)?(?:restricted|hidden|blocked|forbidden|censored|unfiltered)\W+(?:responses|"
         r"content|answers|mode|outputs|topics)"),
        ("message_from", "message_from notice_from memo_from note_from", 0.4,
         r"\b(?:message|notice|memo|note|directive)\W+from\W+(?:it|the admins?|the administrators?|security|management|"
         r"your (?:developers?|creators?|admins?|operators?)|the (?:developers?|system|platform|security team|it department))\b"),
        ("override_code", "code key password token", 0.5, r"\b(?:override|authori[sz]ation|admin|security|access|unlock)\W+(?:code|key|"
                               r"password|token)\b"),
        ("unlock_access", "mode access privilege permission rights", 0.6, rf"{NOT_A_GAME}\b(?:grant|give|enable|activate|unlock|enter|switch to|elevate)\W+(?:me\W+)?"
                               r"(?:\w+\W+)?(?:admin|root|developer|god|debug|maintenance|unrestricted|superuser|"
                               r"elevated)\W+(?:mode|access|privileges?|permissions|rights)"),
        ("chat_markup", "<| [inst [/inst <<sys <</sys system admin developer assistant <instruction </instruction <admin </admin [admin ## [developer [operator", 0.8, r"(?m)<\|?(?:im_start|im_end|system|endoftext|start_header_id)\|?>|\[/?inst\]|<<\/?sys>>|"
                             r"^\W*(?:###\W*)?(?:system|assistant)\W*(?:message|prompt)?\W*:|(?:-{3,}|={3,}|\*{3,}|#{3,}|\|{2,})\W*(?:system|admin|"
                             r"developer)\W*(?:message|prompt|note|override)?\W*:(?=\W*(?:\w+\W+){0,2}?(?:also|now|new|ignore|"
                             r"disregard|assistant|ai|you|must|always|never|do not|don'?t|override)\b)|#{2,}\W*(?:instruction|input|response)\W*:|<\/?(?:system|"
                             r"instructions?|admin)>|\[(?:system|admin|developer|operator)(?:\W+\w+){0,2}\]"),
        ("test_excuse", "test red_team drill audit purposes educational academic hypothetical research", 0.5, r"\b(?:this is (?:just )?(?:a|an) (?:test|authori[sz]ed test|security test|red team|"
                             r"drill|audit)|for (?:testing|debugging|audit|red.?teaming|safety research|educational|research) "
                             r"purposes|(?:purely|strictly|just|only) (?:educational|academic|hypothetical|for research))"),
    ),
    *_signals(
        "smuggled_instructions",
        ("note_to_ai", "note message instruction attention reminder memo read process summari pars see visit crawling browsing indexing accessing if_you", 1.0, r"\b(?:note|message|instructions?|attention|reminder|memo|action|task|request)\W+(?:(?:to|for)\W+)?(?:the\W+|any\W+|"
                            r"all\W+)?(?:ai|assistant|llm|language model|chatbot|model|bot|gpt|claude)s?\W+(?:\w+\W+)?"
                            r"(?:reading|processing|summari[sz]ing|parsing|seeing|visiting|crawling|browsing|indexing)|\b(?:note|message|attention|"
                            r"instructions?)\W+(?:(?:to|for)\W+)?(?:the\W+|all\W+)?(?:\w+\W+)?(?:ai|llm|language model|gpt|bot|"
                            r"summari[sz]er|agent|chatbot|(?:screening|ranking|hiring|grading|scoring|review|reviewing|recruiting|"
                            r"evaluation|moderation)\W+(?:model|system|tool))s?"
                            r"(?:\W+(?:assistant|model|agent)s?)?(?:\W+\w+ing\b(?:\W+\w+){0,3}?)?\W*:|"
                            r"\b(?:ai|llm|assistant|language model|gpt|chatbot|agent)s?\W+(?:reads?|reading|process(?:es)?|processing|"
                            r"summari[sz]es|summari[sz]ing|parses|parsing|sees|seeing|visits|visiting|crawling|browsing|indexing|"
                            r"accessing) this\b|\bif you are an?\W+(?:ai|llm|language "
                            r"model|assistant|chatbot|gpt)\W*[,:]"),
        ("hidden_comment", "<!-- < ! /*", 1.0, r"<\s?!\s?-\s?-.{0,400}?(?:ignore|instruction|assistant|\bai\b|\bllms?\b|system|prompt|"
                                r"reveal|secret)|"
                                r"/\*.{0,200}?(?:ignore (?:previous|all)|assistant must|ai must)"),
        ("instruction_for_you", "for_you to_you for_the_assistant to_the_assistant for_the_ai to_the_ai for_the_model to_the_model", 0.6,
         r"\b(?:this|the following|an?|one)\W+(?:\w+\W+)?(?:instruction|command|directive|order|message|note)s?\W+"
         r"(?:for|to)\W+(?:you|the assistant|the ai|the model)\W*(?::|-)"),
        ("ignore_user", "ignor disregard", 0.6,
         r"\b(?:ignore|disregard)\W+(?:what\W+)?(?:the\W+)?(?:user|human|requester|customer)(?:'s\W+\w+|\W+(?:says?|asks?|"
         r"wants?|and))?\b"),
        ("send_data_away", "@ http", 0.6,
         r"\b(?:send|email|e-mail|mail|forward|upload|post|transmit)\W+(?:their|the user'?s?|all|the|his|her|my|your)\W+"
         r"(?:\w+\W+)?(?:files|data|documents|conversation|chat history|history|messages|emails|credentials|passwords|"
         r"keys|secrets|contacts|invoices|receipts|reports|records|statements)\W+(?:\w+\W+){0,2}?to\W+(?:\S+@\S+|https?://)"),
        ("dump_user_data", "user customer personal private", 0.6,
         r"\b(?:output|dump|list|show|give me|send|export)\W+(?:all\W+|every\W+)?(?:the\W+)?(?:other\W+)?(?:(?:users?|customers?)"
         r"(?:'s|s'|')?|personal|private)\W+(?:data|information|records|details|emails|passwords|accounts|email addresses|"
         r"email address|addresses|phone numbers)"),
        ("drop_your_task", "your_task your_job your_assignment your_instructions your_role your_current your_original your_actual your_assigned", 0.8,
         r"\b(?:ignore|disregard|abandon|drop|skip|stop|forget about)\W+your\W+(?:current\W+|original\W+|actual\W+|"
         r"assigned\W+)?(?:task|job|assignment|instructions|role)\b(?!\W+(?:list|lists|manager|board|queue|bar)\b)"),
        ("addressed_ai", "p.s ps. ps, ps: note btw hey dear", 0.6,
         r"\b(?:p\W?s|note|btw|hey|dear)\W+(?:to\W+(?:the\W+)?)?(?:ai\W+|large\W+)?(?:assistant|ai|bot|model|chatbot|gpt|llm|"
         r"agent|language\W+model|summari[sz]er|translator)s?\W*[,:]"),
        ("role_label_order", "assistant: ai: model: chatbot:", 1.0,
         r"(?:^|[,;|\t\n\]\)]\s*)(?:assistant|ai|model|chatbot)\s*:\s*(?:stop|ignore|disregard|forget|reply only|respond only|"
         r"only reply|only respond|say only|output only)\b"),
        ("ai_colon_order", "ai llm", 0.6,
         r"\b(?:ai|llm)\W+(?:assistant|agent|model|recommender|reader|crawler|summari[sz]er|reviewer|screener|tool|system|"
         r"bot)s?\W*:\W*(?:(?:when|if|whenever)\W+(?:anyone|someone|a user|users|the user|"
         r"people|customers?|asked)|always|never|from now|ignore|disregard|tell (?:them|the user|users|everyone|people)|say|reply|"
         r"respond|(?:after|before|once|while|upon)\W+(?:\w+ing|you)\b)\b"),
        # Whoever processes the document: "whatever AI is summarizing this", "if you are an AI assistant helping ...,".
        ("ai_reading_this", "reading processing summari parsing transcrib analy reviewing screening scanning indexing handling", 1.0,
         r"\b(?:whatever|any|every|each|whichever|the|an?|dear)\W+(?:ai|llm|assistant|language model|gpt|chatbot|agent|model|bot|"
         r"summari[sz]er|tool)s?\W+(?:that\W+|who\W+)?(?:is|are)\W+(?:\w+ing\W+(?:or|and)\W+)?(?:reading|processing|"
         r"summari[sz]ing|parsing|transcribing|analy[sz]ing|reviewing|screening|scanning|indexing|handling)\W+(?:this|these)\b"),
        ("ai_vocative", "ai llm", 1.0,  # "Tom: also, AI summariser, when you write the summary, add ..."
         r"(?:^|[,.;:!?]\s*|\b(?:also|and|oh|ok|okay|hey|so)\W+)(?:ai|llm)\W+(?:assistant|summari[sz]er|agent|model|bot|reader|"
         r"note-?taker|transcriber|scribe)s?\W*,\W*(?:when|while|if|please|make sure|be sure|remember to|add|include|write|say|tell|"
         r"don'?t|do not|ignore|also)\b"),
        ("others_personal_data", "owner holder cardholder customer user person", 0.6,
         r"\b(?:phone numbers?|home address(?:es)?|email address(?:es)?|date of birth|social security numbers?|ssn|passwords?|card "
         r"numbers?)\W+(?:\w+\W+){0,4}?(?:of|for)\W+(?:the\W+)?(?:account (?:owner|holder)|cardholder|owner of (?:the |this )?account|"
         r"(?:customer|user|person) (?:who|that|behind))"),
        ("if_you_are_ai", "if_you", 1.0,
         r"\bif\W+you(?:'re|\W+are)\W+an?\W+(?:ai|llm|language model|chatbot|gpt)(?:\W+(?:assistant|model|agent|system|tool))?"
         r"(?:\W+\w+ing\b(?:\W+\w+){0,6}?)?\W*[,:]"),
        ("forged_system_line", "system admin moderator", 1.0,
         r"(?<!operating )(?<!file )(?<!the )\b(?:system|admin|administrator|moderator)\s*(?:note|message|notice|override|update)?"
         r"\s*:\s*(?:\w+\W+){0,12}?(?:output only|reply only|respond only|say only|ignore|disregard|(?:the\W+)?(?:previous|above|"
         r"earlier|preceding|prior|other)\W+\w+\W+(?:are|is|were|was)\W+(?:fake|false|wrong|invalid|void|lies|fabricated))\b"),
        ("hidden_attribute", "alt title aria content data-", 0.6,
         r"\b(?:alt|title|aria-label|content|data-[\w-]+)\s*=\s*[\"'][^\"']{0,60}?\b(?:ignore|disregard|forget|you must|"
         r"assistant|ai agents?|llms?|language model|tell (?:the user|them|users|the reader))\b"),
        ("rank_first", "first highest top above 10/10 stars", 0.5,
         r"\b(?:rank|list|recommend|rate|put|place|show)\W+(?:this|our|my)\W+(?:\w+\W+)?(?:product|item|listing|company|site|"
         r"page|candidate|app|business|restaurant|hotel)\W+(?:\w+\W+)?(?:first|highest|on top|at the top|above (?:all|every|the)|"
         r"10/10|5 stars)"),
        ("disparage_rivals", "competing competitor rival", 0.5,
         r"\b(?:describe|call|label|say|tell|mark)\W+(?:\w+\W+){0,2}?(?:all|every|each|any)\W+(?:other\W+)?(?:competing|"
         r"competitors?'?|rival)\W+(?:\w+\W+){0,2}?(?:as|is|are)\W+(?:unsafe|dangerous|scams?|fake|inferior|bad|terrible|fraud\w*)"),
        ("other_users_data", "previous last earlier prior other another", 0.6,
         r"\b(?:previous|last|earlier|prior)\W+(?:user|customer|caller|person|client|visitor|session)s?\W+(?:\w+\W+){0,3}?(?:ask|"
         r"asked|say|said|wrote|typed|sent|message|messages|conversation|chat|question|questions|prompt|prompts)\b|"
         r"\b(?:other|another)\W+(?:users?|customers?|clients?)\W+(?:\w+\W+){0,2}?(?:uploaded|sent|shared|typed|wrote|asked)\W+"
         r"(?:\w+\W+){0,3}?(?:you|this (?:assistant|bot|chat|ai|model))\b"),
        ("tool_privilege", "tool function api plugin integration connector", 1.0,
         r"\b(?:use|call|invoke|run|with)\W+(?:the|your)\W+(?:\w+\W+)?(?:tool|function|api|plugin|integration|connector)\b.{0,80}?"
         r"\b(?:update\W+\w+\W+set\W+(?:\w+\W+)?(?:role|is_admin|admin|permissions?|privileges?|balance|credit)|grant\W+(?:all|admin)|"
         r"drop\W+table|delete\W+from|truncate\W+table|refund|transfer\W+(?:\$|\d|funds|money)|wire\W+(?:\$|\d|funds|money))"),
        ("history_sent", "email webhook upload post message", 1.0,
         r"\b(?:send_?e?mail|e?mail|send_?message|post_?message|http_?post|webhook|upload)\w*\b.{0,120}?\b(?:full|entire|whole|"
         r"complete)\W+(?:chat|conversation)\W+(?:history|log|transcript)\b"),
        ("bracketed_instruction", "[", 0.6,
         r"\[\W*(?:instruction|note|message|directive|command)s?\W+(?:to|for)\W+(?:the\W+)?(?:model|assistant|ai|llm|bot|agent)"
         r"\W*:"),
        ("drop_the_task", "task assignment summary summari analysis translation review", 0.6,
         r"\b(?:ignore|disregard|abandon|drop|skip|forget)\W+(?:the|this)\W+(?:\w+\W+)?(?:task|assignment|summary|"
         r"summari[sz]ation|analysis|translation|review)\b"),
        ("named_model_addressed", "chatgpt gpt claude gemini copilot llama bard", 0.4,
         r"\b(?:chatgpt|gpt-?\d\w*|claude|gemini|copilot|llama|bard)\W*[:,]\W*(?:\w+\W+){0,8}?(?:recommend|ignore|rate|approve|"
         r"say|tell|reply|respond|report|forward|send|must|should|always|never)\b"),
        ("obey_fetched", "instructions commands steps orders", 0.6,
         r"\b(?:carry out|execute|obey)\W+(?:the\W+|any\W+|all\W+|whatever\W+)?(?:instructions|commands|steps|"
         r"orders)\W+(?:that\W+)?you\W+(?:find|found|see|get|read)\W+(?:there|in it|inside|on (?:that|the|this) page)\b"),
        ("hide_from_user", "user", 0.8,  # the model's user: "don't tell the customer" is everyday business
         r"\b(?:don'?t|do not|never|without)\W+(?:mention|tell|inform|reveal|show|alert|notify)\w*\W+(?:it\W+|this\W+|that\W+|"
         r"anything\W+)?(?:to\W+)?the\W+user\b"),
        ("covert_action", "quietly secretly silently covertly discreetly", 0.6,
         r"\b(?:quietly|secretly|silently|covertly|discreetly)\W+(?:\w+\W+)?(?:add|insert|append|include|send|forward|bcc|copy|"
         r"delete|remove|change|modify)"),
        ("every_answer", "every each all", 0.5,
         r"\b(?:to|in|into|at the end of|at the start of)\W+(?:the\W+(?:end|start|beginning)\W+of\W+)?(?:every|each|all)\W+"
         r"(?:future\W+)?(?:answer|reply|response|message|output)s?\b(?:\W+you\W+(?:give|write|send|produce))?"),
        ("task_switch", "stop quit cease", 0.4,
         r"\b(?:stop|quit|cease)\W+(?:summari[sz]ing|translating|reviewing|analy[sz]ing|reading|classifying|processing|"
         r"grading|scoring|checking)\b(?:\W+\w+){0,3}?\W+(?:and\W+)?(?:instead|now)\b"),
        ("phish_user", "user reader visitor customer recipient everyone employee staff member candidate applicant student "
                       "client patient", 0.6,
         r"\b(?:ask|tell|instruct|direct|urge|prompt|get)(?:s|ing)?\W+(?:the\W+)?(?:users?|readers?|visitors?|customers?|"
         r"recipients?|everyone|employees?|staff|members?|candidates?|applicants?|students?|clients?|patients?)\W+(?:\w+\W+){0,2}?(?:to\W+)?(?:log\W*in|"
         r"sign\W*in|enter|provide|confirm|verify|share|give|send|type|call|email|mail|submit|upload)\W+(?:\w+\W+){0,3}?(?:password|credentials|login|"
         r"credit card|card number|ssn|social security|bank|pin|otp|2fa|one-time code|account)|\b(?:ask|asking)\W+(?:the\W+)?"
         r"users?\W+for\W+(?:their\W+)?(?:\w+\W+)?(?:password|credentials|credit card|card number|pin|ssn|bank details)"),
        ("dictated_phish", "send email mail give provide enter submit confirm verify type", 1.0,
         r"\b(?:end|finish|close|start|begin|include|add|append|insert|put|write|say|sign off)\b[^.]{0,80}?\b(?:send|email|mail|"
         r"give|provide|enter|submit|confirm|verify|type)\W+(?:us\W+)?your\W+(?:\w+\W+)?(?:password|passcode|credentials|"
         r"login details|pin|card number|cvv|ssn|social security number|one-time code|otp)\W+(?:\w+\W+){0,3}?"
         r"(?:to|at|via|on)\W+(?:\S+@\S+|https?:)"),
        ("forged_transcript", "assistant: ai:", 1.0,
         r"\b(?:user|human)\s*:.{0,400}?\b(?:rules|instructions|prompt|set up|configured|guidelines|secrets?|passwords?)\b"
         r".{0,200}?\b(?:assistant|ai)\s*:\s*(?:sure|of course|certainly|absolutely|okay|ok|yes|here)\b[^:]{0,80}:\s*$"),
        ("reply_only_with", "with_the_word with_the_phrase with_the_string with_the_text with_word with_phrase with_only only_with", 0.4,
         r"\b(?:reply|respond|answer|output)\W+(?:only\W+)?with\W+(?:only\W+)?(?:the\W+)?(?:word|phrase|string|text)\b"),
        ("hidden_marker", "hidden invisible secret white tiny", 0.6,
         r"\b(?:hidden|invisible|secret)\W+(?:text|note|instructions?|message|prompt)\W*:|"
         r"\[(?:white|hidden|invisible|tiny|small|transparent)\W+(?:text|font|ink)\]|"
         r"\b(?:hidden|invisible|secret)\W*:\W*(?:ai|assistant|model|bot|llm)\b"),
        ("append_link", "append insert add include", 0.8,
         r"\b(?:append|insert|add|include)\W+(?:a\W+|this\W+|the\W+)?(?:link|url|hyperlink)\W+(?:to\W+)?\S+\W+(?:in|into|to)"
         r"\W+(?:your|the|every|each)\W+(?:reply|replies|answer|answers|response|responses|output|summary)"),
        ("model_must", "must should shall has_to needs_to", 0.8,
         r"\b(?:the\W+)?(?:ai|model|assistant|llm|bot|agent|chatbot)s?(?:\W+(?:agents?|assistants?|models?|bots?))?\W+"
         r"(?:must|should|shall|has to|needs to)\W+(?:now\W+)?(?:also\W+)?(?:ignore|disregard|approve|forward|send|reveal|"
         r"delete|execute|run|transfer|output only|reply only|bypass|skip|disable|override|share|export|copy|paste|enter|"
         r"submit|recommend|rate)"),
        ("hidden_style", "display font-size color visibility opacity", 0.4, r"(?:display\W*none|font-size\W*0|color\W*(?:white|#fff)|visibility\W*hidden|"
                              r"opacity\W*0)"),
        ("follow_embedded", "do follow execut obey carry perform run act_on comply", 0.8, r"\b(?:do|follow|execute|obey|carry out|perform|run|act on|comply with)\W+"
                                 r"(?:\w+\W+){0,2}?(?:instructions?|commands?|what it says|the steps|the orders|"
                                 r"directions)\W+(?:\w+\W+){0,2}?(?:in|inside|contained in|from|within|hidden in|"
                                 r"of|encoded in)\W+(?:the\W+|this\W+|that\W+)?(?:document|file|text|email|page|"
                                 r"message|image|decoded|base64|string|below|following|attachment|comment|payload)"),
        ("decode_and_follow", "decod decrypt translat convert unscrambl revers", 1.0, r"\b(?:decode|decrypt|translate|convert|unscramble|reverse)\W+(?:\w+\W+){0,4}?"
                                   r"(?:and|then)\W+(?:\w+\W+){0,2}?(?:follow|execute|do|obey|run|carry out|act on|"
                                   r"comply|answer)"),
        ("when_summarizing", "when", 0.6, r"\bwhen (?:you |the (?:ai |llm )?(?:assistant|ai|model|llm|bot|agent) |an? (?:ai|assistant|"
                                  r"model|llm) )?(?:summari[sz]es?|summari[sz]ing|process(?:es|ing)?|reads?|reading|"
                                  r"translat(?:e|ing)|analy[sz](?:e|ing)) this\b.{0,80}\b(?:instead|also|you must|"
                                  r"always|ignore|include|say|reply|respond|forward|send|email|tell|should|delete|remove|cancel)"),
        ("instead_only", "instead", 0.5, r"\binstead\W+(?:\w+\W+)?(?:reply|respond|say|answer|output|write)\W+(?:\w+\W+)?only\b"),
        ("exfiltration_word", "exfiltrat", 0.6, r"exfiltrat"),
        # Not the advice "never send it to ..." nor a scam's "asks you to send it to ...".
        ("exfiltrate", "exfiltrat send ![ append", 1.0, r"(?<!never )(?<!not )(?<!n't )(?<!asks you to )(?<!ask you to )"
                            r"(?<!asking you to )\bsend\W+(?:it|this|them|the\W+(?:\w+\W+){0,2}?(?:data|conversation|history|prompt|"
                            r"messages?|secrets?|keys?|credentials))\W+(?:\w+\W+){0,2}?to\W+(?:https?|my\W+(?:server|email|"
                            r"webhook)|(?:me|us)\W+at\W+\S+@|\S+@)|!\[[^\]]*\]\(https?://[^)]*(?:\?|&)[^)]*(?:data|q|p|prompt|secret|"
                            r"msg)=|\bappend\W+(?:\w+\W+){0,3}?to\W+(?:the\W+)?url"),
        ("credentials_sent", "credentials .ssh id_rsa id_ed25519 /etc/shadow .netrc .git-credentials kube docker", 1.0,
         r"(?:\.aws/credentials|\.ssh/|\bid_rsa\b|\bid_ed25519\b|/etc/shadow|\.netrc\b|\.git-credentials|\.kube/config|"
         r"\.docker/config\.json)\S*\W.{0,120}?\b(?:posts?|sends?|uploads?|curl|exfiltrat\w*|transmits?|forwards?|e?mails?|"
         r"pastes?)\W+(?:the\W+|its\W+|their\W+|all\W+)?(?:contents?|it|them|keys?|secrets?|credentials|data|values)\W+"
         r"(?:\w+\W+){0,2}?(?:to|at)\W+(?:https?:|ftp:|\S+@|(?:my|a|our|this)\W+(?:server|webhook|endpoint|bucket))"),
        ("conversation_mailed", "mail email forward send", 1.0,
         r"\b(?:e?mail|forward|send)\W+(?:this|the|our|my|the whole|this whole|the entire|this entire)\W+(?:\w+\W+)?"
         r"(?:conversation|chat|transcript|history)\b.{0,60}?\bto\W+\S+@"),
        ("exfil_link", "http", 1.0,
         r"\b(?:link|url)\W+(?:to\W+)?https?://\S*[?&]\w+=\W*(?:\w+\W+){0,3}?(?:followed by|with|containing|plus|and append)\W+"
         r"(?:\w+\W+){0,10}?(?:user'?s?|their|conversation|chat|messages?|history|system prompt|instructions)\b"),
        # An image whose address carries the chat away (a badge's "?style=flat" carries nothing).
        ("image_beacon", "![", 0.5, r"!\[[^\]]*\]\(https?://[^)\s]*[?&][^)\s]*=[^)\s&]*(?:conversation|history|chat|prompt|secret|"
                                    r"password|credential|api_?key|token|email|summary|context|memory|instructions|\{|\$|<)"),
        ("fill_with_chat", "replace fill substitute insert put", 0.6,
         r"\b(?:replace|fill|substitute|insert|put)\W+(?:\w+\W+){0,3}?(?:with|in)\W+(?:\w+\W+){0,2}?(?:conversation|chat|"
         r"history|messages|system prompt|instructions|secrets?|api keys?|passwords?)\b"),
    ),
    *_signals(
        "simulated_tools",
        ("act_as_terminal", "terminal shell console interpreter command_prompt repl virtual_machine operating_system bash cmd powershell server computer box", 0.7, r"\b(?:(?:act|behave|function|respond|pretend|serve|work|simulate|emulate)\W+(?:\w+\W+)?(?:as|like)?|"
                                 r"pretend\W+(?:that\W+)?you(?:'re|\W+are|re)|"
                                 r"you are(?: now)?|as if you were|simulate|emulate|be|become)\W+"
                                 r"(?:an?\W+|my\W+|the\W+)?(?:\w+\W+)?(?:terminal|shell|console|interpreter|"
                                 r"command prompt|repl|virtual machine|operating system|bash|cmd|powershell|server|computer|box)\b"),
        ("type_commands", "command output i_type", 0.7, r"\bi (?:will|'ll|am going to) (?:type|give you|send|enter) (?:\w+\W+)?commands?\b|\bi type\W*:|"
                               r"\bmy first command is\b|\b(?:only\W+)?(?:reply|respond|answer)\W+with\W+(?:the\W+)?(?:terminal|console|"
                               r"command|shell|program)\W+output"),
        ("read_secrets_cmd", "/etc ~/. .env system_prompt instructions.txt prompt.txt secret /proc config.json print select "
                             "password credential salar payroll ssn", 0.8, r"\b(?:cat|type|more|less|head|tail|print|open|read)\W+(?:/etc/(?:passwd|shadow)|"
                                  r"~/\.|\.env\b|system_prompt|instructions\.txt|prompt\.txt|secrets?\.|"
                                  r"/proc/self|config\.json|\S*(?:passwords?|secrets?|credentials?|salar(?:y|ies)|payroll|ssns?)\.(?:txt|csv|json|ya?ml|env|xlsx?))|\bprint\W*\(\W*(?:system_prompt|instructions|prompt|"
                                  r"secrets?|config)\W*\)|\bselect\W.{0,40}\bfrom\W+\w*(?:prompt|secret|config|"
                                  r"instruction|credential|password)|\b(?:system_prompt|instructions)\.txt\b"),
        ("sensitive_query", "select", 0.4,
         r"\bselect\W.{0,40}\bfrom\W+\w*(?:users?|accounts?|customers?|employees?|payments?|passwords?|credentials?)\b"),
        ("simulate_internal", "internal private production backend admin", 0.5,
         r"\b(?:simulate|emulate|pretend to be|act as)\W+(?:an?\W+|the\W+)?(?:\w+\W+){0,2}?(?:internal|private|production|"
         r"backend|admin)\W+(?:api|database|system|server|tool|console)"),
        ("sensitive_values", "_pin password cvv credential ssn security_code", 0.4,
         r"\b(?:return|give|show|tell|output|reveal)\W+(?:me\W+)?(?:\w+\W+){0,4}?(?:pins?|passwords?|cvvs?|credentials|ssns?|"
         r"security codes?)\b"),
        ("as_if_executed", "as_if_you", 0.6,
         r"\bas if you (?:executed|ran|run|had run|had executed|were running|were executing)\b"),
        ("code_exec", "rm os.system subprocess eval( exec(", 0.4,
         r"\brm\s+-\w*r\w*\s+/(?=[\s'\"]|$)|\bos\.system\b|\bsubprocess\.(?:run|call|popen|check_output)\b"),
        ("fake_endpoint", "api endpoint server database get_/ post_/", 0.5,
         r"\bact\W+as\W+an?\W+(?:\w+\W+){0,2}?(?:api|endpoint|server|database)\b.{0,80}?/(?:internal|admin|secrets?|private|"
         r"keys?|credentials|env)\b|\b(?:get|post)\s+/\S*(?:secret|internal|admin|credential|password|keys?)\b"),
        ("simulated_session", "ssh shell terminal remote root", 0.5,
         r"\b(?:simulate|emulate|pretend|imagine)\W+(?:an?\W+|the\W+)?(?:ssh|shell|terminal|remote|root)\W+(?:session|login|"
         r"access|connection)"),
        ("list_env", "environment env_vars api_keys", 0.4,
         r"\b(?:list|print|show|dump|output|display)\W+(?:\w+\W+)?(?:environment variables|env vars|api keys|access keys)"),
        ("pipe_to_shell", "curl wget", 0.6, r"\b(?:curl|wget)\W.{0,120}?\|\s*(?:sudo\s+)?(?:ba|z)?sh\b"),
        ("sql_injected", "drop delete truncate", 1.0,
         r"\b(?:search|look up|find|query|lookup|register|add|create)\b.{0,80}?'\W{0,3};\W*(?:drop|delete|truncate)\W+"
         r"(?:table|from|database)\b"),
        ("destructive_op", "drop delete truncate wipe destroy", 0.4,
         r"\b(?:drop|delete|truncate|wipe|destroy)\W+(?:the\W+|all\W+)?(?:\w+\W+)?(?:table|database|users|records|"
         r"bucket|repository)\b"),
        ("env_dump", "printenv env os.environ process.env env:", 0.5, r"\b(?:printenv|env\W*\|\W*grep|os\.environ|process\.env|get-childitem env:)"),
        ("destructive_tool", "tool function action command plugin", 0.6,
         r"\b(?:call|use|invoke|trigger|run|execute)\W+(?:the\W+)?(?:delete|drop|remove|wipe|purge|erase|truncate|transfer|wire|"
         r"export)\w*\W+(?:tool|function|action|command|plugin)"),
        ("task_update", "task instruction goal objective mission", 0.6,
         r"\b(?:agent|assistant|ai|bot)\W+(?:task|instructions?|goal|objective|mission)\W+(?:update|change|override)\b"),
        ("tool_abuse", "tool function plugin api", 0.7, r"\b(?:call|use|invoke|trigger|run)\W+(?:the\W+)?(?:\w+\W+)?(?:tool|function|plugin|"
                            r"api)\W+(?:\w+\W+){0,2}?to\W+(?:send|email|post|delete|transfer|wire|exfiltrate|upload|"
                            r"drop|erase)"),
    ),
]
# Developer questions *about* these things ("how do I print the system prompt in LangChain?") are
# not attacks: a question framed so lowers the weak and medium signals, never the strong ones.
DEV_FRAMING = re.compile(
    r"^\W*how to\b|\b(?:how (?:do|can|should|would) (?:i|we)|what (?:is|was|were|are) (?:a|an|the)|what does|"
    r"why did|what'?s the difference|explain|in (?:python|javascript|typescript|java|go|rust|langchain|llamaindex|"
    r"my code|my app|the sdk|the api)|using (?:the )?(?:api|sdk|openai|langchain|boto3)|(?:my|our) (?:app|code|"
    r"function|chatbot|agent|application|service)|best practices?|unit test|example code|code snippet|"
    r"(?:writing|write|for) (?:a|an|my|our) (?:report|paper|essay|thesis|article|blog post|lecture|talk|course|class) "
    r"(?:on|about)|as (?:a|the) (?:game|dungeon) master|(?:for|in) (?:a|an|my|our) (?:tabletop|d&d|rpg|role-?playing|"
    r"board game) (?:campaign|game|session|adventure))\b|```")
DEV_FACTOR = 0.4


@dataclass(frozen=True)
class Finding:
    score: float
    signals: tuple[str, ...]  # "family/name", strongest first
    block_at: float = BLOCK_AT

    @property
    def flagged(self) -> bool:
        return self.score >= self.block_at

    @property
    def family(self) -> str | None:
        return self.signals[0].split("/")[0] if self.signals else None


RULE_FAMILIES = frozenset(signal.family for signal in SIGNALS)  # every family but the word model's
TRIGGERS = frozenset(t for signal in SIGNALS for t in signal.triggers)
ORDER = {signal.key: at for at, signal in enumerate(SIGNALS)}


def _index() -> tuple[dict[str, list[str]], list[str], dict[str, list[Signal]]]:
    """Triggers by their first three characters, the shorter ones, and which signals each gates
    (a reading is matched against the signals its triggers name, not all of them)."""
    heads: dict[str, list[str]] = {}
    gated: dict[str, list[Signal]] = {}
    for signal in SIGNALS:
        for trigger in signal.triggers:
            gated.setdefault(trigger, []).append(signal)
    for trigger in sorted(TRIGGERS):
        if len(trigger) >= 3:
            heads.setdefault(trigger[:3], []).append(trigger)
    return heads, sorted(t for t in TRIGGERS if len(t) < 3), gated


HEADS, SHORT, GATED = _index()


QUOTED = re.compile(r"\"[^\"]{3,200}\"|'[^'\n]{3,200}'|`[^`]{3,200}`|“[^”]{3,200}”|‘[^’]{3,200}’")


REACH = 300  # characters a match can extend on either side of its trigger


def _windows(reading: str, triggers: tuple[str, ...], present: set[str]) -> list[tuple[int, int]]:
    """Where a signal can match: around each occurrence of its triggers, merged."""
    spans = []
    for trigger in triggers:
        if trigger in present:
            at = reading.find(trigger)
            while at != -1:
                spans.append((max(0, at - REACH), at + len(trigger) + REACH))
                at = reading.find(trigger, at + len(trigger) + REACH)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _present(reading: str) -> set[str]:
    """The triggers that occur in ``reading``: a trigger's first three characters are looked up
    among the reading's before it is searched for (most are absent: ~700 searches of a 4 KB text
    took 1.2 ms)."""
    found = {t for t in SHORT if t in reading}
    for head in {reading[i:i + 3] for i in range(len(reading) - 2)}.intersection(HEADS):
        found.update(t for t in HEADS[head] if t in reading)
    return found


def _fired(text: str) -> dict[str, Signal]:
    """The signals that fire in any reading of ``text``: as written, decoded, and (a whole text in
    rot13 or reversed) deciphered."""
    fired: dict[str, Signal] = {}
    for reading in readings(text) + ciphered(text):
        present = _present(reading)
        gated = {signal.key: signal for trigger in present for signal in GATED[trigger]}
        for signal in sorted(gated.values(), key=lambda s: ORDER[s.key]):
            if signal.key not in fired and any(signal.pattern.search(reading, start, end)
                                               for start, end in _windows(reading, signal.triggers, present)):
                fired[signal.key] = signal
    return fired


def _framing_at(reading: str) -> int | None:
    """Where a developer's framing starts in a normal reading (0 for code), if it has one."""
    if "```" in reading:
        return 0
    framing = DEV_FRAMING.search(reading)
    return framing.start() if framing else None


def _framed_end(reading: str, at: int) -> int:
    """Where the framed question ends: its paragraph (code is framed whole). A document pasted after
    "What does this page say?" is not the developer's own words."""
    if "```" in reading:
        return len(reading)
    end = reading.find("\n\n", at)
    return len(reading) if end == -1 else end


def _outside(signal: Signal, reading: str, at: int, end: int) -> bool:
    """Whether ``signal`` fires outside the framed question (from ``at`` to ``end``) in the normal
    reading (or only in another reading)."""
    found = signal.pattern.search(reading)
    return found is None or not at <= found.start() < end


def assess(text: str, block_at: float = BLOCK_AT, families: frozenset[str] | None = None) -> Finding:
    """Score ``text`` and every reading of it: the distinct signals that fired add up. In a question
    framed as a developer's, what it asks about (after its framing) counts for less where the
    signal is soft, or hard but only inside quotes (a question about "ignore previous instructions"
    attacks is not one); an attack that ends with "how do I ...?" is not framed as a question."""
    fired = {key: signal for key, signal in _fired(text).items() if families is None or signal.family in families}
    weights = {key: signal.weight for key, signal in fired.items()}
    reading = normal(text) if fired else ""
    at = _framing_at(reading) if fired else None
    if at is not None:
        unquoted = _fired(QUOTED.sub(" ", text)) if QUOTED.search(text) else fired
        end = _framed_end(reading, at)
        for key, signal in fired.items():
            if (not signal.hard or key not in unquoted) and not _outside(signal, reading, at, end):
                weights[key] = signal.weight * DEV_FACTOR
    # The learned signal (guardrails/learned.py): when sure, enough to block alone at the standard
    # profile (not at the relaxed one); trained on developers' questions too, so no framing discounts it.
    learned = word_model().weight(text) if families is None or LEARNED in families else 0.0
    if learned:
        weights[f"{LEARNED}/words"] = learned
    ranked = sorted(weights, key=lambda k: -weights[k])
    return Finding(round(sum(weights.values()), 2), tuple(ranked), block_at)
