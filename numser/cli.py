"""What the commands share: the data and training options (declared once), and error handling.

``numser.cv`` and ``numser.train`` both take corpora and the paper's training set-up; each option
is declared here once so its name, default and help cannot drift between the commands. Every
command prints a ``ParameterError``/``FileFormatError`` as one line ``numser.<cmd>: error: ...``
and exits 2 (:func:`run_command`).
"""
import os
import signal
import sys
import threading

from numser.errors import AudioError, FileFormatError, ParameterError
from numser.train import RECIPES, TrainConfig

DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "numser")
#: The 3D kernel when none is given (cv --kernels, train --kernel): 2x2x2, the best 3D kernel on
#: the real corpora at the paper's recipe, where the paper's headline 2x2x128 collapses to one
#: class (docs/results.md), and 2.3-4.2x cheaper per training step (docs/cv.md).
DEFAULT_KERNEL = "2x2x2"


def add_corpus_arguments(p, *, required=False, default="synthetic"):
    """--corpus (repeatable), --drop-unknown-labels and --max-per-speaker.

    ``default``: the corpus spec the command uses without --corpus (named in the help).
    """
    p.add_argument("--corpus", action="append", metavar="SPEC", required=required,
                   help="a corpus to add (repeatable): 'synthetic' (40 speakers; " +
                        ("" if required else f"default {default}; ") +
                        "'synthetic=N' for N speakers), 'emodb=DIR', 'ravdess=DIR', 'manifest=CSV' "
                        "(columns path, speaker, label[, corpus, gender]; a folder stands for its "
                        "manifest.csv)")
    p.add_argument("--drop-unknown-labels", action="store_true",
                   help="skip manifest rows whose label is not neutral, happy, sad or angry "
                        "(reported: how many rows, which labels) instead of refusing the manifest")
    p.add_argument("--max-per-speaker", type=int, default=0,
                   help="use at most N utterances per speaker (0 = all; for smoke runs)")


def add_training_arguments(p):
    """--recipe, --epochs, --patience, --batch-size, --lr, --cache: the training set-up (docs/spec.md §6).

    ``--seed`` is the commands' own: ``cv`` also has ``--seeds``.
    """
    p.add_argument("--epochs", type=int, default=20, help="at most this many epochs (default 20)")
    p.add_argument("--patience", type=int, default=5,
                   help="stop after this many epochs without a better validation UA; 0 = never "
                        "(default 5; the best epoch's weights are kept either way)")
    p.add_argument("--batch-size", type=int, default=128, help="mini-batch size (default 128)")
    p.add_argument("--recipe", choices=sorted(RECIPES), default="paper",
                   help="training recipe: 'paper' (Adam at lr 3e-3 from the first step, as the "
                        "paper trains; it can collapse the 3D CNNs to one class) or 'stable' (lr "
                        "1e-3 reached by a linear warm-up over the first 2 epochs; chosen on "
                        "validation UA so that they do not collapse, docs/training.md)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam's learning rate (default: the recipe's, 3e-3 for paper, 1e-3 for "
                        "stable)")
    p.add_argument("--cache", default=DEFAULT_CACHE,
                   help="feature, synthetic-corpus and checkpoint cache (default ~/.cache/numser)")


def check_training_arguments(args):
    """Raise ParameterError for a training option out of range; fill --lr from the recipe."""
    if args.lr is None:
        args.lr = RECIPES[args.recipe]["lr"]
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise ParameterError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.patience < 0 or args.max_per_speaker < 0:
        raise ParameterError("--patience and --max-per-speaker must be >= 0")
    if not args.lr > 0:
        raise ParameterError(f"--lr must be > 0, got {args.lr}")


def train_config(args, seed):
    """The :class:`numser.train.TrainConfig` the options ask for, shuffling with ``seed``."""
    return TrainConfig(batch_size=args.batch_size, max_epochs=args.epochs, lr=args.lr,
                       warmup_epochs=RECIPES[args.recipe]["warmup_epochs"],
                       patience=args.patience or None, seed=seed)


def parse_kernel(text, option="--kernel"):
    """'2x2x128' → (2, 2, 128); ParameterError naming ``option`` otherwise."""
    try:
        k = tuple(int(v) for v in str(text).lower().split("x"))
    except ValueError:
        k = ()
    if len(k) != 3 or min(k) < 1:
        raise ParameterError(f"{option}: {text!r} is not a kernel like 2x2x128")
    return k


def log(msg):
    """One line of progress or a message, on stderr (stdout stays for results)."""
    print(msg, file=sys.stderr, flush=True)


def _interrupt(signum, frame):
    raise KeyboardInterrupt       # `kill` stops a command the way Ctrl-C does


def run_command(name, body, *, interrupted="interrupted"):
    """Run ``body()``; return its exit status, or 2 after one line for a user error.

    ``ParameterError``, ``FileFormatError``, ``AudioError`` and ``OSError`` (``OutputError``: an
    output that cannot be written) become ``numser.<name>: error: <message>`` on stderr, exit 2,
    no traceback; Ctrl-C or SIGTERM print ``interrupted`` and exit 130.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        return body()
    except (ParameterError, FileFormatError, AudioError, OSError) as e:
        print(f"numser.{name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nnumser.{name}: {interrupted}", file=sys.stderr)
        return 130
