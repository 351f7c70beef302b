from core.api import ModelSerializer
from firm.models import FirmProfile
from firm.services import PROFILE_FIELDS
from firm.validators import NORMALIZERS

# The logo is uploaded from the settings page; the API only shows its URL.
WRITABLE_FIELDS = tuple(name for name in PROFILE_FIELDS if name != "logo")


class FirmProfileSerializer(ModelSerializer):
    """What GET /api/v1/firm/ returns."""

    class Meta:
        model = FirmProfile
        fields = [*PROFILE_FIELDS, "updated_at"]
        read_only_fields = fields


class FirmProfileUpdateSerializer(ModelSerializer):
    """What PATCH /api/v1/firm/ accepts: any subset of the profile, the logo aside."""

    class Meta:
        model = FirmProfile
        fields = list(WRITABLE_FIELDS)
        # Identifiers may be sent with spaces: the model compacts them before checking their length.
        extra_kwargs = {name: {"max_length": None} for name in NORMALIZERS}
