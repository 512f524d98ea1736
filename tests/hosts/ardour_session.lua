-- Ardour (headless, `ardour7-lua tests/hosts/ardour_session.lua SESSION_DIR STEMS_INDEX`)
-- as a user drives it: a new session, a stereo track, Unweave's VST3 on it. Prints what
-- the host reads of the plugin, one fact a line, for tests/other_hosts.rs:
--   port loaded N NAME      the name Ardour gives output audio port N
--   latency loaded|stems N  the latency Ardour compensates, at the defaults, then after
--                           Algorithm is set to Stems and the transport has rolled
-- Ardour needs VST3_PATH to reach the bundle and the scanner's cache
-- (ardour-vst3-scanner) to list it.
local dir, stems = arg[1], tonumber (arg[2])
AudioEngine:set_backend ("None (Dummy)", "", "")
AudioEngine:start (false)
local session = create_session (dir, "unweave", 44100)
assert (session, "no session")
local tracks = session:new_audio_track (2, 2, nil, 1, "band",
  ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true)
local track = tracks:front ()
local processor = ARDOUR.LuaAPI.new_plugin (session, "Unweave", ARDOUR.PluginType.VST3, "")
assert (not processor:isnil (), "Ardour does not list Unweave's VST3")
track:add_processor_by_index (processor, 0, nil, true)
local plugin = processor:to_plugininsert ():plugin (0)

for i = 0, 9 do
  local port = plugin:describe_io_port (ARDOUR.DataType ("audio"), false, i)
  print (string.format ("port loaded %d %s", i, port.name))
end
print (string.format ("latency loaded %d", processor:signal_latency ()))

local algorithm
for i = 0, plugin:parameter_count () - 1 do
  if plugin:parameter_label (i) == "Algorithm" then algorithm = i end
end
assert (algorithm, "no Algorithm parameter")
assert (ARDOUR.LuaAPI.set_processor_param (processor, algorithm, stems))
session:request_roll (ARDOUR.TransportRequestSource.TRS_UI)
ARDOUR.LuaAPI.usleep (1500000)
assert (session:transport_rolling (), "the transport does not roll")
print (string.format ("latency stems %d", processor:signal_latency ()))
