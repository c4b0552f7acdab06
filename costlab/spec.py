"""Model specs: zoo names with knobs, a user's ``file.py:factory`` / ``pkg.module:factory``,
or a model of an installed model library: ``torchvision:NAME[:knob=v,...]``, ``timm:NAME``,
``hf:MODEL_TYPE[:key=v,...]`` (extras ``costlab[vision]``, ``costlab[timm]``, ``costlab[hf]``)."""
from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass

import torch
import torch.nn as nn

from .frontends import is_file_model, is_file_spec, load_file
from .zoo.registry import ModelEntry, SpecError, parse_spec
from .errors import InputError  # noqa: F401




@dataclass
class Resolved:
    name: str                          # canonical display name, e.g. 'mobilenet_v1:width=0.75'
    model: nn.Module
    entry: ModelEntry | None           # None for user models
    knobs: dict
    default_shapes: list | None = None  # a library model's default input (hf: token ids), else None


def _is_user_spec(spec: str) -> bool:
    """``file.py:factory`` or ``package.module:factory`` (zoo names and aliases win); also
    ``module:factory`` for a top-level module (``mynet:build`` with ``mynet.py`` here)."""
    from .zoo.registry import SpecError as _SE, get_entry

    head, _, rest = (x.strip() for x in spec.partition(":"))
    if head.endswith(".py"):
        return True
    try:
        get_entry(head)
        return False
    except _SE:
        pass
    if "." in head and rest:
        return True
    if rest and rest.isidentifier():   # name:factory, not name:knob=value
        if not _module_exists(head):
            hint = ""
            try:
                get_entry(head)
            except _SE as exc:
                hint = str(exc).split(";", 1)[1].split("(", 1)[0].strip() if ";" in str(exc) else ""
            tried = (f"not a zoo model{' (' + hint + ')' if hint else ''}, no file '{head}.py' here, "
                     f"and no importable module '{head}'")
            raise SpecError(f"unknown model '{spec}': {tried}; write path/to/file.py:{rest} for a file, "
                            "package.module:factory for a module, or a zoo name ('costlab zoo' lists them)")
        return True
    return False


def _module_exists(name: str) -> bool:
    """A top-level module importable from here (the current folder included), without importing it."""
    if not name.isidentifier():
        return False
    if os.path.isfile(f"{name}.py") or os.path.isfile(os.path.join(name, "__init__.py")):
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def canonical_name(entry: ModelEntry, knobs: dict) -> str:
    changed = {k: v for k, v in knobs.items() if v != entry.knobs[k].default}
    if not changed:
        return entry.name
    return entry.name + ":" + ",".join(f"{k}={v}" for k, v in changed.items())


def build_zoo(spec: str, device: str | torch.device = "meta") -> Resolved:
    """Build a zoo model; on the meta device by default (no weight memory, no init cost)."""
    entry, knobs = parse_spec(spec)
    with torch.device(device):
        model = entry.builder(**knobs)
    return Resolved(canonical_name(entry, knobs), model, entry, knobs)


def load_user(spec: str) -> Resolved:
    """``path/to/file.py:factory`` or ``package.module:factory``; factory() -> nn.Module."""
    target, sep, factory = spec.rpartition(":")
    if not sep or not target or not factory:
        raise SpecError(f"user model '{spec}' must be written file.py:factory or package.module:factory")
    if target.endswith(".py"):
        if os.path.isdir(target):
            raise SpecError(f"model file '{target}' is a folder; give the .py file that defines the factory")
        if not os.path.isfile(target):
            raise SpecError(f"model file '{target}' does not exist")
        mod_name = f"costlab_user_{abs(hash(os.path.abspath(target)))}"
        mspec = importlib.util.spec_from_file_location(mod_name, target)
        if mspec is None or mspec.loader is None:
            raise SpecError(f"cannot import '{target}' as a Python file")
        module = importlib.util.module_from_spec(mspec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
        try:
            mspec.loader.exec_module(module)
        except (Exception, SystemExit) as exc:  # the user's file itself fails to import (or exits)
            raise SpecError(f"importing '{target}' failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
        finally:
            sys.path.pop(0)
    else:
        cwd = os.getcwd()
        added = cwd not in sys.path
        if added:   # a console script does not put the current folder on sys.path
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise SpecError(f"cannot import module '{target}': {exc}") from exc
        except (Exception, SystemExit) as exc:
            raise SpecError(f"importing '{target}' failed: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}") from exc
        finally:
            if added:
                sys.path.remove(cwd)
    if not hasattr(module, factory):
        public = [n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n))]
        import difflib

        close = difflib.get_close_matches(factory, public, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SpecError(f"'{target}' has no factory '{factory}'{hint}")
    fn = getattr(module, factory)
    try:
        model = fn() if callable(fn) and not isinstance(fn, nn.Module) else fn
    except (Exception, SystemExit) as exc:
        raise SpecError(f"calling {factory}() failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    if not isinstance(model, nn.Module):
        raise SpecError(f"{factory}() returned {type(model).__name__}, not a torch.nn.Module")
    return Resolved(spec, model, None, {})


# -- models of installed libraries: torchvision:NAME, timm:NAME, hf:MODEL_TYPE ----------------------

HUB_PACKAGES = {"torchvision": ("torchvision", "vision"), "timm": ("timm", "timm"), "hf": ("transformers", "hf")}


def _hub_prefix(spec: str) -> str | None:
    head, sep, _ = spec.partition(":")
    return head if sep and head in HUB_PACKAGES else None


def _knob_value(v: str):
    low = v.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v.strip()


def _parse_knobs(text: str, spec: str) -> dict:
    knobs = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key.strip().isidentifier():
            raise SpecError(f"bad option '{part}' in '{spec}': write key=value, e.g. num_classes=10")
        knobs[key.strip()] = _knob_value(value)
    return knobs


def _unknown(kind: str, name: str, known, fix: str) -> SpecError:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return SpecError(f"unknown {kind} '{name}'{hint} ({fix})")


def _torchvision(name: str, knobs: dict):
    models = importlib.import_module("torchvision.models")
    known = models.list_models()
    if name not in known:
        raise _unknown("torchvision model", name, known, "torchvision.models.list_models() lists them")
    # no weights of any kind: detection / segmentation builders download a backbone's weights
    # (weights_backbone) unless told not to, and nothing may download at run time
    import inspect

    builder = getattr(models, "get_model_builder", None)     # torchvision >= 0.14
    params = inspect.signature(builder(name)).parameters if builder is not None else {}
    off = {p: None for p in params if "weights" in p and p not in knobs}
    off["weights"] = knobs.pop("weights", None)
    return models.get_model(name, **off, **knobs), _torchvision_input(models, name, builder)


TV_FRAMES = 16            # a torchvision video model's clip: 16 frames (its weights' training clips)


def _torchvision_input(models, name: str, builder) -> list:
    """A torchvision model's default input by its family: a video model takes a clip 1 x 3 x 16 x
    crop x crop (the crop of its weights' transforms: 112 for the 3-D ResNets, 224 for MViT, S3D,
    Swin3D), an optical-flow model (RAFT) two frames 1x3x224x224, every other model one image
    1x3x224x224."""
    family = f".{getattr(builder(name), '__module__', '')}." if builder is not None else ""
    if ".video." in family:
        side = 112
        try:
            crop = models.get_model_weights(name).DEFAULT.transforms.keywords["crop_size"]
            side = int(crop[0] if isinstance(crop, (list, tuple)) else crop)
        except Exception:  # noqa: BLE001  (no weights enum or no crop: the 3-D ResNets' 112)
            pass
        return [(1, 3, TV_FRAMES, side, side)]
    if ".optical_flow." in family:
        return [(1, 3, 224, 224), (1, 3, 224, 224)]
    return [(1, 3, 224, 224)]


def _timm(name: str, knobs: dict):
    timm = importlib.import_module("timm")
    if not timm.is_model(name):
        raise _unknown("timm model", name, timm.list_models(), "timm.list_models() lists them")
    model = timm.create_model(name, pretrained=False, **knobs)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None) or {}
    return model, [(1,) + tuple(cfg.get("input_size", (3, 224, 224)))]


HF_TOKENS = 128          # token ids of a text model (and decoder ids of an encoder-decoder)
HF_IMAGE = 224           # an image model whose config states no image_size
HF_AUDIO = 16000         # input_values: one second of 16 kHz audio


def _hf_size(value, default: int) -> tuple[int, int]:
    """(H, W) from a config's ``image_size`` (an int, [H, W], or {'height':, 'width':} / {'shortest_edge':})."""
    if isinstance(value, int) and value > 0:
        return value, value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return int(value[0]), int(value[-1])
    if isinstance(value, dict):
        h = value.get("height", value.get("shortest_edge"))
        w = value.get("width", h)
        if isinstance(h, int) and isinstance(w, int):
            return h, w
    return default, default


def _hf_tokens(config) -> int:
    limit = getattr(config, "max_position_embeddings", None)
    return min(HF_TOKENS, int(limit)) if isinstance(limit, int) and limit > 0 else HF_TOKENS


def _hf_attr(config, vision, key: str):
    """``config.key``, else the nested vision config's (``config.vision_config.key``), else None."""
    value = getattr(config, key, None)
    return getattr(vision, key, None) if value is None and vision is not None else value


def hf_default_inputs(model, config) -> list:
    """The default inputs of a transformers model, from its declared ``main_input_name`` and its
    config: ``pixel_values`` 1 x num_channels x H x W (the config's ``image_size``, or its
    ``vision_config``'s, else 224; 1 x num_frames x num_channels x H x W for a video model),
    ``input_values`` 1 x 16000 (audio), ``input_features`` 1 x num_mel_bins x frames (Whisper-like),
    else ``input_ids`` 1 x 128 (fewer where the config allows fewer positions); an encoder-decoder
    (``config.is_encoder_decoder``) also gets ``decoder_input_ids``. Every input is passed by name."""
    main = getattr(model, "main_input_name", None) or "input_ids"
    if main == "pixel_values":
        vision = getattr(config, "vision_config", None)     # SAM: the image encoder's config is nested
        channels = _hf_attr(config, vision, "num_channels")
        h, w = _hf_size(_hf_attr(config, vision, "image_size"), HF_IMAGE)
        c = int(channels) if isinstance(channels, int) and channels > 0 else 3
        frames = _hf_attr(config, vision, "num_frames")      # video (VideoMAE, ViViT, TimeSformer): N x T x C x H x W
        shapes = [InputShape((1, frames, c, h, w) if isinstance(frames, int) and frames > 0 else (1, c, h, w),
                             None, main)]
    elif main == "input_values":
        shapes = [InputShape((1, HF_AUDIO), None, main)]
    elif main == "input_features" and isinstance(getattr(config, "num_mel_bins", None), int):
        frames = 2 * int(getattr(config, "max_source_positions", 1500) or 1500)   # Whisper: 2 frames a position
        shapes = [InputShape((1, config.num_mel_bins, frames), None, main)]
    elif main == "input_features" and isinstance(getattr(config, "input_feat_per_channel", None), int):
        per = config.input_feat_per_channel * int(getattr(config, "input_channels", 1) or 1)
        shapes = [InputShape((1, HF_TOKENS, per), None, main)]       # Speech2Text: frames x features
    else:
        shapes = [InputShape((1, _hf_tokens(config)), "int64", main)]
    if getattr(config, "is_encoder_decoder", False):
        decoder = getattr(config, "decoder", None) or config
        limit = getattr(decoder, "max_target_positions", None) or getattr(decoder, "max_position_embeddings", None)
        tokens = min(HF_TOKENS, int(limit)) if isinstance(limit, int) and limit > 0 else HF_TOKENS
        shapes.append(InputShape((1, tokens), "int64", "decoder_input_ids"))
    return shapes


def _hf(name: str, knobs: dict):
    tf = importlib.import_module("transformers")
    known = list(getattr(tf, "CONFIG_MAPPING", {}).keys())
    if known and name not in known:
        raise _unknown("transformers model type", name, known, "e.g. bert, gpt2, vit, t5")
    config = tf.AutoConfig.for_model(name, **knobs)
    model = tf.AutoModel.from_config(config)
    return model, hf_default_inputs(model, config)


def load_hub(spec: str, device: str | torch.device = "meta") -> Resolved:
    """``torchvision:resnet50[:num_classes=10]``, ``timm:NAME[:k=v]``, ``hf:bert[:num_hidden_layers=2]``:
    a randomly initialised model of an installed library (built on ``device``: meta first)."""
    prefix = _hub_prefix(spec)
    _, _, rest = spec.partition(":")
    name, _, knob_text = rest.partition(":")
    name = name.strip()
    if not name:
        raise SpecError(f"'{spec}': write {prefix}:NAME[:key=value,...], e.g. {prefix}:"
                        + {"torchvision": "resnet50", "timm": "resnet50", "hf": "bert"}[prefix])
    knobs = _parse_knobs(knob_text, spec)
    package, extra = HUB_PACKAGES[prefix]
    try:
        importlib.import_module(package)
    except ImportError:
        raise SpecError(f"'{spec}' needs {package}, which is not installed: pip install 'costlab[{extra}]'") from None
    build = {"torchvision": _torchvision, "timm": _timm, "hf": _hf}[prefix]
    try:
        try:
            with torch.device(device):
                model, shapes = build(name, knobs)
        except SpecError:
            raise
        except Exception:  # noqa: BLE001  (an initialiser that cannot run on meta: build it for real)
            if torch.device(device).type != "meta":
                raise
            model, shapes = build(name, knobs)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001  (a knob the builder does not take, a bad value, or the library
        # itself failing on this config: an AttributeError in its __init__, an optional package it
        # imports (ImportError), memory: one line that names the library's error, never a traceback)
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        raise SpecError(f"cannot build '{spec}': {type(exc).__name__}: {first}") from None
    return Resolved(spec, model, None, knobs, default_shapes=shapes)


def resolve(spec: str, device: str | torch.device = "meta") -> Resolved:
    if is_file_spec(spec):               # model.onnx: a file model, analysed like any other
        return Resolved(os.path.basename(spec.strip()), load_file(spec), None, {})
    if _hub_prefix(spec):
        return load_hub(spec, device)
    if _is_user_spec(spec):
        return load_user(spec)
    return build_zoo(spec, device)


INPUT_DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int16", "int8", "uint8", "bool")
_DTYPE_ALIASES = {"long": "int64", "int": "int32", "float": "float32", "half": "float16", "double": "float64"}


class InputShape(tuple):
    """One input's shape (a tuple of ints) and its dtype, given as ``1x128:int64``
    (``dtype`` None: the dtype of the model's parameters). Token ids of a language model are
    ``int64`` inputs; the tracer creates them as zeros (a valid id) on real tensors.
    ``name``: the forward's keyword for this input (``decoder_input_ids`` of an encoder-decoder),
    None for a positional input."""

    dtype: str | None
    name: str | None

    def __new__(cls, dims, dtype: str | None = None, name: str | None = None):
        obj = super().__new__(cls, (int(d) for d in dims))
        obj.dtype = dtype
        obj.name = name
        return obj

    def __reduce__(self):
        return (InputShape, (tuple(self), self.dtype, self.name))

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in (("dtype", self.dtype), ("name", self.name)) if v)
        return f"InputShape({tuple(self)!r}{extra})" if extra else repr(tuple(self))


def parse_input_shape(text: str) -> list[tuple[int, ...]]:
    """'1x3x224x224' -> [(1, 3, 224, 224)]; several inputs separated by ','; a dtype per input
    after ':' (``1x128:int64`` for token ids) -> :class:`InputShape` tuples."""
    shapes = []
    for part in text.split(","):
        part = part.strip().lower()
        m = re.fullmatch(r"(\d+(?:x\d+)*)(?::([a-z0-9]+))?", part)
        if not m:
            raise InputError(f"bad input shape '{text}': write dimensions joined by x, e.g. 1x3x224x224 "
                             "(token ids: 1x128:int64)")
        dims = tuple(int(d) for d in m.group(1).split("x"))
        if any(d <= 0 for d in dims):
            raise InputError(f"bad input shape '{text}': every dimension must be positive")
        dtype = m.group(2)
        if dtype is not None:
            dtype = _DTYPE_ALIASES.get(dtype, dtype)
            if dtype not in INPUT_DTYPES:
                raise InputError(f"bad input dtype '{m.group(2)}' in '{text}'; use one of {', '.join(INPUT_DTYPES)} "
                                 "(e.g. 1x128:int64 for token ids)")
        shapes.append(InputShape(dims, dtype))
    if len(shapes) > 1 and all(len(s) == 1 and s.dtype is None for s in shapes):
        # '1,3,224,224' reads as four one-dimensional inputs: almost always one shape mis-joined
        raise InputError(f"bad input shape '{text}': a comma separates the inputs of a multi-input model, so this "
                         f"is {len(shapes)} one-dimensional inputs; for one input write "
                         f"{'x'.join(str(s[0]) for s in shapes)} (several one-dimensional inputs: give each a dtype, "
                         "e.g. 8:float32,8:float32)")
    return shapes


def input_shapes_for(resolved: Resolved, input_shape: str | list | tuple | None,
                     resolution: int | None, batch: int = 1) -> list[tuple[int, ...]]:
    if input_shape is not None and resolution is not None:
        raise InputError("give --input-shape or --resolution, not both")
    if input_shape is not None and batch != 1:
        raise InputError("--batch goes with --resolution; with --input-shape write the batch as its "
                         "first dimension (e.g. 8x3x224x224)")
    if is_file_model(resolved.model):     # the file's own input sizes, its symbolic dims from the options
        given = None if input_shape is None else (
            parse_input_shape(input_shape) if isinstance(input_shape, str) else
            [tuple(s) for s in input_shape] if input_shape and isinstance(input_shape[0], (list, tuple))
            else [tuple(input_shape)])
        return [InputShape(d, dt) for d, dt in resolved.model.input_shapes(given, resolution, batch)]
    if input_shape is not None:
        if isinstance(input_shape, str):
            given = parse_input_shape(input_shape)
        elif input_shape and isinstance(input_shape[0], (list, tuple)):
            given = [s if isinstance(s, InputShape) else tuple(int(d) for d in s) for s in input_shape]
        else:
            given = [tuple(int(d) for d in input_shape)]
        for s in given:     # as the CLI's parser says: a tensor of a 0 or -1 dimension is no input to count
            if any(d <= 0 for d in s):
                raise InputError(f"bad input shape {tuple(s)}: every dimension must be positive, "
                                 "e.g. (1, 3, 224, 224)")
        return _named_like(given, resolved.default_shapes)
    if resolution is not None and resolution <= 0:
        raise InputError(f"bad resolution {resolution}: must be a positive number of pixels")
    if resolved.default_shapes:           # a library model's own default input
        first = resolved.default_shapes[0]
        if resolution is not None and len(first) not in (4, 5):
            raise InputError(f"{resolved.name} takes {'x'.join(map(str, first))} "
                             f"{getattr(first, 'dtype', None) or ''} inputs, not images: pass --input-shape")
        # images (N x C x H x W) and video clips (N x C x T x H x W) take the resolution as H and W
        return [InputShape((batch,) + (tuple(s[1:-2]) + (resolution, resolution) if resolution and len(s) in (4, 5)
                                       else tuple(s[1:])), getattr(s, "dtype", None), getattr(s, "name", None))
                for s in resolved.default_shapes]
    if resolved.entry is not None:
        shape = resolved.entry.default_input_shape(resolution)
        return [(batch,) + tuple(shape[1:])]
    r = USER_RESOLUTION if resolution is None else resolution
    return [(batch, 3, r, r)]


def _named_like(given: list, defaults: list | None) -> list:
    """Shapes the user gave for a library model whose default inputs are passed by name
    (``hf:``: ``input_ids``, ``decoder_input_ids``): the i-th given input takes the i-th default's
    name (the first N of the model's inputs, in the default order); the rest stay positional."""
    names = [getattr(s, "name", None) for s in defaults or []]
    if not any(names):
        return given
    return [InputShape(s, getattr(s, "dtype", None), names[i] if i < len(names) and not getattr(s, "name", None)
                       else getattr(s, "name", None)) for i, s in enumerate(given)]


def file_input_shape(spec: str, size=None, batch: int = 1) -> tuple[int, ...]:
    """The one input shape of model file ``spec`` for a row of a specs or measurements file:
    the file's own size, or ``size`` (a resolution, or a full shape) choosing its symbolic dims
    (a TFLite file and a static ONNX file take only their own size). A file with several inputs,
    or whose input has symbolic dims and no ``size``: one-line :class:`InputError`."""
    resolved = resolve(spec)
    if size is None or isinstance(size, int):
        shapes = input_shapes_for(resolved, None, size, batch)
    else:
        shapes = input_shapes_for(resolved, [tuple(int(d) for d in size)], None)
    if len(shapes) != 1:
        raise InputError(f"{resolved.name} has {len(shapes)} inputs; a row of a specs or measurements file gives "
                         "one input shape (analyze it with --input-shape instead)")
    return tuple(int(d) for d in shapes[0])


USER_RESOLUTION = 224   # the one input rule: a user model given no input size runs at 1x3x224x224


def default_input(resolved: Resolved, input_shape, resolution: int | None) -> tuple[int | None, str | None]:
    """(resolution to use, note to print) for a model given ``input_shape`` / ``resolution``:
    a user model given neither runs at 1x3x224x224, and the note says so."""
    if is_file_model(resolved.model):    # a model file states its own input sizes
        return resolution, None
    if resolved.default_shapes and input_shape is None and resolution is None:
        shown = ",".join("x".join(map(str, s)) + (f":{s.dtype}" if getattr(s, "dtype", None) else "")
                         for s in resolved.default_shapes)
        return None, f"{resolved.name}: no input size given; using its default input {shown} (pass --input-shape)"
    if resolved.entry is None and input_shape is None and resolution is None:
        return USER_RESOLUTION, (f"{resolved.name}: no input size given for a user model; using "
                                 f"1x3x{USER_RESOLUTION}x{USER_RESOLUTION} (pass --input-shape or --resolution)")
    return resolution, None
