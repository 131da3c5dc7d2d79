"""Person front end that needs no visible mouth: proposals, landmarks on regions, carried tracks and faces.

One module per stage: ``regions`` (the rotated square a person is analysed in), ``landmarks`` (the pose
landmark model on a region, without the face-keyed person detector), ``faces`` (BlazeFace short-range as a
second mouth source), ``proposals`` (person proposals for the whole frame: the face-keyed detector at
analysis width, moving regions of a fixed camera, and tiles at the scale of distant people), ``tracks``
(regions carried from frame to frame) and ``fusion`` (faces matched to poses). ``pipeline`` strings them
together and times every stage. Everything stays in process memory.
"""
