import Shared
import SleepNet
