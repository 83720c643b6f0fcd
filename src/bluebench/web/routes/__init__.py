"""The review UI's routes, one ``APIRouter`` per area; ``create_app`` includes them all."""
