-- A device type names LAVA's device type; the driver that runs it and the
-- LAVA device-type template it was imported from are its own (issue 16).
-- driver '' = the driver that declares the device type's name.
-- template = the imported template chain (JSON: [{name, text}], the type's
-- own template first, the base last); '' = none.
ALTER TABLE device_types ADD COLUMN driver TEXT NOT NULL DEFAULT '';
ALTER TABLE device_types ADD COLUMN template TEXT NOT NULL DEFAULT '';
