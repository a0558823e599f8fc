"""The tables the compiled room renderer reads: the column of each per-scene, per-object and
per-box number (scene.py fills the tables in this order; kernels/room.py and
kernels/furniture.py read them), and the ids of the room's surfaces.
"""

# Columns of the per-scene table of `render_scenes`.
(FOCAL, PITCH_SIN, PITCH_COS, CAMERA_HEIGHT, LEFT, RIGHT, FRONT, BACK, CEILING, YAW_COS, YAW_SIN,
 LIGHT_X, LIGHT_Y, LIGHT_Z, LIGHT_POWER, AMBIENT, SHADOW_DX, SHADOW_DY, SHADOW_DZ,
 WINDOW_X, WINDOW_Y, WINDOW_HALF_W, WINDOW_HALF_H, SKY_R, SKY_G, SKY_B,
 BRIGHT_FLOOR, BRIGHT_WALL, BRIGHT_CEILING, INV_TILE_FLOOR, INV_TILE_WALL, INV_TILE_CEILING,
 DOOR_X0, DOOR_X1, DOOR_TOP, DOOR_FAR,
 ) = range(36)
SCENE_COLUMNS = 36

# Columns of the per-object table (B, K, OBJECT_COLUMNS) of `render_scenes`.
OBJ_X, OBJ_Z, OBJ_WIDTH, OBJ_HEIGHT, OBJ_THICKNESS, OBJ_FLIP, OBJ_PRESENT, OBJ_LIGHT, OBJ_SHADOW = range(9)
OBJECT_COLUMNS = 9

# Columns of the per-box table (B, M, BOX_COLUMNS) of `render_scenes` (furniture.Boxes).
(BOX_X0, BOX_Y0, BOX_Z0, BOX_X1, BOX_Y1, BOX_Z1, BOX_R, BOX_G, BOX_B, BOX_TILE, BOX_PER_M,
 BOX_PRESENT, BOX_EMIT) = range(13)
BOX_COLUMNS = 13

# Surface ids, as room.FLOOR ... room.BACK.
SURFACE_FLOOR, SURFACE_CEILING, SURFACE_LEFT, SURFACE_RIGHT, SURFACE_FRONT, SURFACE_BACK = range(6)
